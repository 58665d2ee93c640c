"""``modelport model deploy`` and the live progress display shared with ``service update/reload``.

The display goes to stderr (stdout keeps the machine-readable result): on a terminal a Rich live
status line under the scrolling deployment log, elsewhere plain lines. The command exits 0 only
when the service ends Healthy; otherwise it prints the cause on one line, the log tail and the
command that shows the whole log, and exits 1.
"""

from __future__ import annotations

import contextlib
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from modelport.cli._options import CommonOptions, OutputFormat, common_options, parse_pairs
from modelport.cli._output import render
from modelport.errors import UserError

if TYPE_CHECKING:  # Rich, the SDK and the config parsers load when a deploy runs, not on import
    from rich.console import Console
    from rich.live import Live

    from modelport.sdk import _follow
    from modelport.sdk.webservice import Webservice

TAIL_LINES = 15
EXAMPLE = """Example: deploy model digits version 1 with the v1 config files, wait until Healthy:

    modelport model deploy -n digits-svc -m digits:1 --ic inferenceconfig.json --dc deploymentconfig.json

Exit code 0 when the service is Healthy, 1 otherwise (the cause and the log tail are printed)."""

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


def _text(text: str, style: str = "") -> Any:
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
        console.print(_text("Warning: ", "yellow") + _text(str(item.message)))


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


# -- following an operation ------------------------------------------------------------------


class ProgressDisplay:
    """Renders the events of :func:`modelport.sdk._follow.follow` on stderr."""

    def __init__(self, service: str, action: str) -> None:
        from rich.spinner import Spinner

        self.console = err_console()
        self.live_mode = self.console.is_terminal
        self.service = service
        self.action = action
        self.started = time.monotonic()
        self.state = "Running"
        self.last_line = ""
        self._live: Live | None = None
        self._spinner = Spinner("dots")

    def __enter__(self) -> ProgressDisplay:
        self.console.print(_text(f"{self.action} {self.service} …", "bold"))
        if self.live_mode:
            from rich.live import Live

            self._live = Live(self, console=self.console, refresh_per_second=8, transient=True)
            self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.__exit__(None, None, None)
            self._live = None

    def __rich__(self) -> Any:
        """Called on every refresh, so the elapsed time runs between events too."""
        elapsed = time.monotonic() - self.started
        text = _text(f"{self.action}: {self.state}  {elapsed:5.1f}s", "cyan")
        if self.last_line:
            width = max(20, self.console.width - len(text) - 6)
            text.append(f"  {self.last_line[:width]}", style="dim")
        self._spinner.update(text=text)
        return self._spinner

    def event(self, event: _follow.Event) -> None:
        if event.kind == "log":
            self.last_line = event.line
            self.console.print(_text("  " + event.line, "dim"))
        elif event.operation is not None:
            self.state = str(event.operation.get("state"))
            step = event.operation.get("step")
            if not self.live_mode:
                suffix = f" ({step})" if step else ""
                self.console.print(f"{self.action}: {self.state}{suffix}")
        if self._live is not None:
            self._live.refresh()


def follow_operation(service: Webservice, action: str) -> dict[str, Any]:
    """Follow the service's current operation with the display; the final operation document."""
    from modelport.sdk import _follow

    operation: dict[str, Any] = {}
    assert service._operation_id is not None
    try:
        with ProgressDisplay(service.name, action) as display:
            for event in _follow.follow(
                service.workspace._client,
                service.workspace.name,
                service.name,
                service._operation_id,
            ):
                display.event(event)
                if event.operation is not None:
                    operation = event.operation
    except KeyboardInterrupt:
        err_console().print(
            f"Stopped following; operation {service._operation_id} goes on. Check it with "
            f"`modelport service show -n {service.name}`."
        )
        raise
    return operation


def finish(service: Webservice, operation: dict[str, Any], opts: CommonOptions) -> None:
    """Exit 0 with the service shown when Healthy; else the cause, the log tail, exit 1."""
    service.update_deployment_state()
    console = err_console()
    if operation.get("state") == "Succeeded" and service.state == "Healthy":
        elapsed = _elapsed(operation)
        console.print(
            _text(f"{service.name} is Healthy{elapsed}: {service.scoring_uri}", "bold green")
        )
        render(summary(service, opts), opts)
        return
    failure = service.failure(operation)
    cause = failure.code or "Failed"
    message = " ".join(str((failure.error or {}).get("message") or "no message").split())
    if service.state == "Healthy":
        # A failed update or reload: the server kept the previous revision serving.
        kind = str(operation.get("kind") or "operation").lower()
        line = (
            f"Error: the {kind} of {service.name} failed: {cause}: {message} "
            f"(revision {service.revision} keeps serving)"
        )
    else:
        line = f"Error: {service.name} is {service.state}: {cause}: {message}"
    console.print(_text(line, "bold red"))
    if failure.logs_tail:
        console.print(_text("Log tail:", "red"))
        for line in failure.logs_tail[-TAIL_LINES:]:
            console.print(_text("  " + line))
    console.print(f"Run `modelport service get-logs -n {service.name}` for the whole log.")
    raise typer.Exit(1)


def summary(service: Webservice, opts: CommonOptions) -> dict[str, Any]:
    """The whole service for -o json/yaml/tsv or --query; the essentials for a table."""
    data = service.serialize()
    if opts.output is not OutputFormat.table or opts.query:
        return data
    keep = ("name", "state", "scoringUri", "swaggerUri", "models", "revision", "operationId")
    return {key: data[key] for key in keep}


def _elapsed(operation: dict[str, Any]) -> str:
    from datetime import datetime

    try:
        start = datetime.fromisoformat(str(operation["startTime"]))
        end = datetime.fromisoformat(str(operation["endTime"]))
    except (KeyError, TypeError, ValueError):
        return ""
    return f" after {max(0.0, (end - start).total_seconds()):.1f}s"


# -- the command ------------------------------------------------------------------------------


@common_options
def deploy(
    opts: CommonOptions,
    name: Annotated[
        str,
        typer.Option(
            "--name", "-n", help="Service name: 3-32 of a-z, 0-9, '-', starting with a letter."
        ),
    ],
    models: ModelsOption = None,
    metadata_files: MetadataOption = None,
    inference_config: InferenceOption = None,
    deploy_config: DeployConfigOption = None,
    entry_script: EntryScriptOption = None,
    source_directory: SourceDirOption = None,
    environment_name: EnvNameOption = None,
    environment_version: EnvVersionOption = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace a service of the same name.")
    ] = False,
    no_wait: NoWaitOption = False,
    description: DescriptionOption = None,
    tag: TagOption = None,
    prop: PropertyOption = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Deploy nothing: print the Kubernetes manifests a computeType AKS/kubernetes "
            "--dc would apply (-o yaml or json).",
        ),
    ] = False,
    compute_target: Annotated[
        str | None,
        typer.Option(
            "--compute-target",
            "--ct",
            help="Attached Kubernetes target (`modelport target list`) for a computeType "
            "AKS/kubernetes --dc: sets its computeTargetName.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Deploy models as a web service and wait until it is Healthy.

    Without --ic and with exactly one scikit-learn or ONNX model: no-code deployment.
    Without --dc: a local service on a free port.
    """
    from modelport.sdk.deploy import deploy as sdk_deploy
    from modelport.specs import load_deployment_config, validate_service_name

    validate_service_name(name)
    refs, ws_name = model_list(models, metadata_files)
    with config_warnings():
        spec = inference_spec(inference_config, entry_script, source_directory)
        config = load_deployment_config(deploy_config) if deploy_config else None
    if compute_target is not None:
        from modelport.cli.kube_export import with_compute_target

        config = with_compute_target(config, compute_target)
    if config is not None:
        from modelport.sdk.deploy import config_json

        config_json(config)  # TLS PEM files named in --dc: a missing one stops before the server
    if dry_run:
        from modelport.cli.kube_export import dry_run as print_dry_run

        return print_dry_run(opts, ws_name, name, config)
    ws = opts.workspace(ws_name)
    service = sdk_deploy(
        ws,
        name,
        refs,
        inference_config=spec,
        deployment_config=config,
        overwrite=overwrite,
        environment=environment_ref(environment_name, environment_version),
        tags=parse_pairs(tag, "--tag") or None,
        properties=parse_pairs(prop, "--property") or None,
        description=description,
    )
    if no_wait:
        err_console().print(
            f"Accepted: operation {service._operation_id}; follow it with "
            f"`modelport service show -n {name}`."
        )
        render(service.serialize(), opts)
        return
    finish(service, follow_operation(service, "Deploying"), opts)


deploy.__doc__ = f"{deploy.__doc__}\n\n{EXAMPLE}"


def register(app: typer.Typer) -> None:
    """Add ``deploy`` to the ``model`` group."""
    app.command("deploy", help=deploy.__doc__, no_args_is_help=True)(deploy)
