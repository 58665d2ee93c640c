"""``modelport env list|show|build|scaffold|register`` (v1: ``az ml environment ...``)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.text import Text

from modelport.cli._options import CommonOptions, common_options
from modelport.cli._output import render, render_items
from modelport.environments import EnvironmentSpec, check_user_name, ensure_built, to_azure_json
from modelport.environments.interpreters import current
from modelport.environments.sources import ENV_FILE, load_from_directory
from modelport.errors import Conflict
from modelport.sdk._http import seg
from modelport.sdk.environment import Environment, default_cache_root

app = typer.Typer(
    help="Environments: the Python packages and settings a service runs with. Register versions, "
    "list them (curated ones included), scaffold a new one, build one on this machine.",
    no_args_is_help=True,
    rich_markup_mode="markdown",
)

COLUMNS = ["name", "version", "curated", "createdTime"]

NameOption = Annotated[str, typer.Option("--name", "-n", help="Environment name.")]
VersionOption = Annotated[
    str | None,
    typer.Option("--version", "-v", help="Version (default: the latest).", show_default=False),
]
DirOption = Annotated[
    Path, typer.Option("--directory", "-d", help="Folder holding azureml_environment.json.")
]


def _summary(item: dict[str, Any]) -> dict[str, Any]:
    return {k: item.get(k) for k in ("name", "version", "curated", "createdTime")}


@app.command("list")
@common_options
def list_(
    opts: CommonOptions,
    name: Annotated[
        str | None,
        typer.Option("--name", "-n", help="Every version of this name.", show_default=False),
    ] = None,
    no_curated: Annotated[bool, typer.Option("--no-curated", help="Hide curated ones.")] = False,
) -> None:
    """List environments: the latest version of each (every version with -n), curated ones first.

    Example: modelport env list -o tsv --query "[].name"
    """
    ws = opts.workspace()
    params = {"latest": "false" if name else "true", "curated": str(not no_curated).lower()}
    if name:
        params["name"] = name
    items = opts.client().paginate(f"/workspaces/{seg(ws.name)}/environments", params)
    render_items((_summary(i) for i in items), opts, columns=COLUMNS)


@app.command("show")
@common_options
def show(opts: CommonOptions, name: NameOption, version: VersionOption = None) -> None:
    """Show an environment version: its v1 JSON and, once built, its lock.

    Example: modelport env show -n my-env -v 2 -o json
    """
    ws = opts.workspace()
    details = opts.client().get(
        f"/workspaces/{seg(ws.name)}/environments/{seg(name)}/versions/{seg(version or 'latest')}"
    )
    render(details, opts)


@app.command("scaffold")
@common_options
def scaffold(
    opts: CommonOptions,
    name: NameOption,
    directory: DirOption,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace an existing file.")
    ] = False,
) -> None:
    """Write a starting azureml_environment.json into a folder (edit it, then `env register`).

    Example: modelport env scaffold -n my-env -d ./env
    """
    check_user_name(name)
    target = directory / ENV_FILE
    if target.exists() and not overwrite:
        raise Conflict(f"{target} exists; pass --overwrite to replace it.")
    cur = current().version
    spec = EnvironmentSpec(
        name=name,
        pip_packages=("azureml-defaults", "inference-schema[numpy-support]"),
        python_version=f"{cur[0]}.{cur[1]}",
        channels=("conda-forge",),
        environment_variables={"EXAMPLE_ENV_VAR": "EXAMPLE_VALUE"},
    )
    directory.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(to_azure_json(spec), indent=4) + "\n", encoding="utf-8")
    render({"name": name, "file": str(target)}, opts)


@app.command("register")
@common_options
def register(opts: CommonOptions, directory: DirOption) -> None:
    """Register the environment of a folder as its next version (unchanged: the latest version).

    Example: modelport env register -d ./env
    """
    env = Environment.load_from_directory(directory)
    registered = env.register(opts.workspace())
    render(_summary(registered._details), opts)


@app.command("build")
@common_options
def build(
    opts: CommonOptions,
    name: Annotated[
        str | None,
        typer.Option("--name", "-n", help="Registered or curated environment.", show_default=False),
    ] = None,
    version: VersionOption = None,
    directory: Annotated[
        Path | None,
        typer.Option(
            "--directory",
            "-d",
            help="Build a local folder's environment instead.",
            show_default=False,
        ),
    ] = None,
    cache_dir: Annotated[
        Path | None,
        typer.Option(
            "--cache-dir",
            help="Environment cache (default: MODELPORT_ENV_CACHE, else <MODELPORT_HOME>/environments, "
            "the one the local server uses).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Build (or reuse) an environment's virtual environment on this machine, showing progress.

    Example: modelport env build -n my-env -v 2
    """
    if (name is None) == (directory is None):
        raise typer.BadParameter("give either -n NAME (registered or curated) or -d DIRECTORY")
    lock: str | None = None
    registered: Environment | None = None  # where to record the lock afterwards
    if directory is not None:
        spec = load_from_directory(directory)
    else:
        assert name is not None
        env = Environment.get(opts.workspace(), name, version)
        spec, lock = env._to_spec(), env.lock
        registered = None if env.is_curated else env
    started = time.monotonic()
    with _Progress(f"Building environment {spec.name}") as progress:
        built = ensure_built(spec, cache_dir or default_cache_root(), progress.line, lock=lock)
    if registered is not None and not built.user_managed and built.lock != lock:
        ws_name = opts.workspace().name
        path = f"/workspaces/{seg(ws_name)}/environments/{seg(spec.name)}/versions/{seg(str(spec.version))}"
        opts.client().request("PUT", path + "/lock", json={"lock": built.lock})
    render(
        {
            "name": spec.name,
            "version": spec.version,
            "key": built.key,
            "python": str(built.python),
            "pythonVersion": built.python_version,
            "path": str(built.path),
            "reused": built.reused,
            "seconds": round(time.monotonic() - started, 2),
        },
        opts,
    )


class _Progress:
    """Build output on stderr: a live status line on a terminal, plain lines otherwise."""

    def __init__(self, title: str) -> None:
        self._console = Console(stderr=True, highlight=False)
        self._live = sys.stderr.isatty()
        self._title = title
        self._status: Any = None

    def __enter__(self) -> _Progress:
        if self._live:
            self._status = self._console.status(self._title)
            self._status.start()
        return self

    def line(self, text: str) -> None:
        if self._live:
            self._console.print(Text(text, style="dim"))
            self._status.update(f"{self._title}: {text[:50]}")
        else:
            print(text, file=sys.stderr, flush=True)

    def __exit__(self, *exc: object) -> None:
        if self._status is not None:
            self._status.stop()
