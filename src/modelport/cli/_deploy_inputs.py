"""What ``model deploy``, ``service update`` and ``model package`` take alike: their shared options
(models, configs, environment, tags) and turning those into model references, an inference spec
and an environment reference; configuration warnings as one line each on stderr.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from modelport.errors import UserError

if TYPE_CHECKING:  # Rich and the config parsers load when a command runs, not on import
    from rich.console import Console

# -- shared options --------------------------------------------------------------------------

ModelsOption = Annotated[
    list[str] | None,
    typer.Option(
        "--model",
        "-m",
        help="Model NAME:VERSION (repeatable); a bare NAME means its latest version; a local "
        "path is registered first.",
        metavar="NAME:VERSION",
        show_default=False,
    ),
]
MetadataOption = Annotated[
    list[Path] | None,
    typer.Option(
        "--model-metadata-file",
        "-f",
        help="JSON file written by `model register --output-metadata-file` (repeatable).",
        show_default=False,
    ),
]
InferenceOption = Annotated[
    Path | None,
    typer.Option(
        "--ic",
        "--inference-config-file",
        help="v1 inferenceconfig.json/.yml: entryScript, sourceDirectory, environment.",
        show_default=False,
        metavar="FILE",
    ),
]
DeployConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--dc",
        "--deploy-config-file",
        help='v1 deploymentconfig.json/.yml, e.g. {"computeType": "local", "port": 6789}.',
        show_default=False,
        metavar="FILE",
    ),
]
EnvNameOption = Annotated[
    str | None,
    typer.Option(
        "--environment-name",
        "-e",
        help="Registered or curated environment (overrides the inference config's).",
        show_default=False,
    ),
]
EnvVersionOption = Annotated[
    str | None,
    typer.Option(
        "--environment-version",
        "--ev",
        help="Version of -e (latest if omitted).",
        show_default=False,
    ),
]
NoWaitOption = Annotated[
    bool, typer.Option("--no-wait", help="Return once the server accepted the request.")
]
TagOption = Annotated[
    list[str] | None,
    typer.Option(
        "--tag", help="key=value tag (repeatable).", metavar="KEY=VALUE", show_default=False
    ),
]
PropertyOption = Annotated[
    list[str] | None,
    typer.Option(
        "--property",
        help="key=value property (repeatable).",
        metavar="KEY=VALUE",
        show_default=False,
    ),
]
EntryScriptOption = Annotated[
    str | None,
    typer.Option(
        "--entry-script",
        "--es",
        help="Entry script (overrides the inference config's entryScript).",
        show_default=False,
    ),
]
SourceDirOption = Annotated[
    Path | None,
    typer.Option(
        "--source-directory",
        "--sd",
        help="Source folder uploaded with the entry script (overrides sourceDirectory).",
        show_default=False,
    ),
]
DescriptionOption = Annotated[
    str | None, typer.Option("--description", "-d", help="Free text.", show_default=False)
]


def model_list(
    models: list[str] | None, metadata_files: list[Path] | None
) -> tuple[list[str], str | None]:
    """Model references from -m and -f, and the workspace a metadata file names (if any)."""
    from modelport.cli.model import read_metadata_file

    refs = list(models or [])
    workspace = None
    for file in metadata_files or []:
        model_id, ws = read_metadata_file(file)
        refs.append(model_id)
        workspace = workspace or ws
    return refs, workspace


def err_console() -> Console:
    """A Rich console on stderr (imported on first use: most commands never print through it)."""
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


def styled(text: str, style: str = "") -> Any:
    """A Rich Text (Rich is imported on first use)."""
    from rich.text import Text

    return Text(text, style=style)


@contextlib.contextmanager
def config_warnings() -> Iterator[None]:
    """Show configuration warnings as one ``Warning:`` line each, not Python's two-line form."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    console = err_console()
    for item in caught:
        console.print(styled("Warning: ", "yellow") + styled(str(item.message)))


def inference_spec(
    file: Path | None, entry_script: str | None, source_directory: Path | None
) -> Any:
    """The inference config of ``--ic`` with ``--entry-script``/``--source-directory`` laid over
    it (relative paths from the flags start at the working directory)."""
    from modelport.specs import build_inference_spec, load_inference_config
    from modelport.specs.inference import KEYS

    spec = load_inference_config(file) if file else None
    if entry_script is None and source_directory is None:
        return spec
    params: dict[str, Any] = {}
    bases: list[Any] = [Path.cwd()]
    if spec is not None:
        params = {p: getattr(spec, p) for p in KEYS.values() if getattr(spec, p) is not None}
        if source_directory is None and spec.source_root is not None:
            params["source_directory"] = str(spec.source_root)
        elif source_directory is None:
            bases.insert(0, spec.base_dir)
    if source_directory is not None:
        params["source_directory"] = str(source_directory.resolve())
    if entry_script is not None:
        params["entry_script"] = entry_script
    if not params.get("entry_script"):
        raise UserError("--source-directory needs an entry script: --entry-script or --ic.")
    label = {"entry_script": "--entry-script", "source_directory": "--source-directory"}
    return build_inference_spec(params, bases, label=lambda p: label.get(p, p))


def environment_ref(name: str | None, version: str | None) -> dict[str, Any] | None:
    if version and not name:
        raise UserError("--ev/--environment-version goes with -e/--environment-name.")
    return {"name": name, "version": version} if name else None
