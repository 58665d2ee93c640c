"""``modelport service list|show|get-logs|update|delete|run|reload|get-keys|regen-key|get-access-token``.

Flags follow ``az ml service``; each command is a thin skin over :class:`Webservice`.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from modelport.cli import service_observe as _observe
from modelport.cli._deploy_inputs import (
    DeployConfigOption,
    DescriptionOption,
    EntryScriptOption,
    EnvNameOption,
    EnvVersionOption,
    InferenceOption,
    MetadataOption,
    ModelsOption,
    NoWaitOption,
    PropertyOption,
    SourceDirOption,
    TagOption,
    config_warnings,
    environment_ref,
    err_console,
    inference_spec,
    model_list,
)
from modelport.cli._lazy import lazy_group
from modelport.cli._operation import finish, follow_operation
from modelport.cli._options import (
    CommonOptions,
    OutputFormat,
    common_options,
    parse_filters,
    parse_pairs,
)
from modelport.cli._output import apply_query, render, render_items
from modelport.errors import UserError

if TYPE_CHECKING:
    from rich.console import Console

    from modelport.sdk.webservice import Webservice

app = typer.Typer(
    help="List, inspect, test, update and delete deployed web services.\n\n"
    "Deploy one first with `modelport model deploy -n NAME -m MODEL:VERSION --ic "
    "inferenceconfig.json --dc deploymentconfig.json`.",
    no_args_is_help=True,
    rich_markup_mode="markdown",
    # telemetry, data, metrics (docs/observe.md) and export --format kubernetes are built when
    # named: `service list` need not build them
    cls=lazy_group(
        {
            "telemetry": "modelport.cli.service_observe",
            "data": "modelport.cli.service_observe",
            "metrics": "modelport.cli.service_observe",
            "export": "modelport.cli.kube_export",
        }
    ),
)

LIST_COLUMNS = ["name", "computeType", "state", "scoringUri", "updatedTime"]

NameOption = Annotated[str, typer.Option("--name", "-n", help="Service name.")]


def _service(opts: CommonOptions, name: str) -> Webservice:
    from modelport.sdk.webservice import Webservice

    return Webservice(opts.workspace(), name)


def _err() -> Console:
    return err_console()


@app.command("list")
@common_options
def list_(
    opts: CommonOptions,
    compute_type: Annotated[
        str | None,
        typer.Option("--compute-type", help="local or ACI (any case).", show_default=False),
    ] = None,
    model_name: Annotated[
        str | None,
        typer.Option("--model-name", help="Only services using this model.", show_default=False),
    ] = None,
    model_id: Annotated[
        str | None,
        typer.Option("--model-id", help="Only services using NAME:VERSION.", show_default=False),
    ] = None,
    tag: Annotated[
        list[str] | None,
        typer.Option(
            "--tag", help="KEY or KEY=VALUE filter (repeatable, ANDed).", show_default=False
        ),
    ] = None,
    prop: Annotated[
        list[str] | None,
        typer.Option(
            "--property", help="KEY or KEY=VALUE filter (repeatable, ANDed).", show_default=False
        ),
    ] = None,
) -> None:
    """List the services of the workspace.

    Example: `modelport service list --model-name digits -o json`
    """
    from modelport.sdk.webservice import Webservice

    ws = opts.workspace()
    items = Webservice._iter(
        ws,
        compute_type=compute_type,
        model_name=model_name,
        model_id=model_id,
        tags=parse_filters(tag),
        properties=parse_filters(prop),
    )
    render_items((s.serialize() for s in items), opts, columns=LIST_COLUMNS)


@app.command("show")
@common_options
def show(opts: CommonOptions, name: NameOption) -> None:
    """Show one service: state, error, scoring URI, models, replicas, configuration.

    Example: `modelport service show -n digits-svc --query scoringUri -o tsv`
    """
    render(_service(opts, name).serialize(), opts)


@app.command("get-logs")
@common_options
def get_logs(
    opts: CommonOptions,
    name: NameOption,
    num_lines: Annotated[
        int, typer.Option("--num-lines", "-l", help="Lines to show from the end.", min=1)
    ] = 5000,
    init: Annotated[bool, typer.Option("--init", help="Accepted for v1 compatibility.")] = False,
) -> None:
    """Print the deployment log (environment build, replica start, probes) and replica logs.

    Example: `modelport service get-logs -n digits-svc -l 50`
    """
    text = _service(opts, name).get_logs(num_lines=num_lines)
    sys.stdout.write(text if text.endswith("\n") or not text else text + "\n")


@app.command("update")
@common_options
def update(
    opts: CommonOptions,
    name: NameOption,
    models: ModelsOption = None,
    metadata_files: MetadataOption = None,
    inference_config: InferenceOption = None,
    deploy_config: DeployConfigOption = None,
    entry_script: EntryScriptOption = None,
    source_directory: SourceDirOption = None,
    environment_name: EnvNameOption = None,
    environment_version: EnvVersionOption = None,
    description: DescriptionOption = None,
    tag: TagOption = None,
    prop: PropertyOption = None,
    no_wait: NoWaitOption = False,
    app_insights: _observe.AppInsightsOption = None,
    collect_model_data: _observe.CollectOption = None,
) -> None:
    """Change models, code, environment or settings; new replicas are healthy before old ones go.

    A --dc file is laid over the service's configuration: only the keys it sets change, and it
    may leave computeType out (`{"numReplicas": 2}`).

    Example: `modelport service update -n digits-svc -m digits:2`

    Example: `modelport service update -n digits-svc --dc replicas.json`
    """
    from modelport.specs import load_deployment_config

    refs, _ = model_list(models, metadata_files)
    service = _service(opts, name)
    with config_warnings():
        spec = inference_spec(inference_config, entry_script, source_directory)
        # a --dc without computeType (e.g. {"numReplicas": 2}) is laid over the service's own
        config = (
            load_deployment_config(deploy_config, compute_type=service.compute_type)
            if deploy_config
            else None
        )
    if config is not None:
        from modelport.sdk.deploy import config_json

        config_json(config)  # TLS PEM files named in --dc: a missing one stops before the server
    service.update(
        models=refs or None,
        inference_config=spec,
        deployment_config=config,
        environment=environment_ref(environment_name, environment_version),
        tags=parse_pairs(tag, "--tag") or None,
        properties=parse_pairs(prop, "--property") or None,
        description=description,
        **_observe.update_fields(app_insights, collect_model_data),
    )
    if no_wait:
        render(service.serialize(), opts)
        return
    finish(service, follow_operation(service, "Updating"), opts)


@app.command("reload")
@common_options
def reload(opts: CommonOptions, name: NameOption, no_wait: NoWaitOption = False) -> None:
    """Restart the replicas with the source files as they are now (no environment rebuild).

    Example: `modelport service reload -n digits-svc` after editing score.py
    """
    service = _service(opts, name)
    service.reload()
    if no_wait:
        render(service.serialize(), opts)
        return
    finish(service, follow_operation(service, "Reloading"), opts)


@app.command("delete")
@common_options
def delete(opts: CommonOptions, name: NameOption) -> None:
    """Delete a service; returns when its processes are gone and its port is free.

    Example: `modelport service delete -n digits-svc`
    """
    _service(opts, name).delete()
    _err().print(f"Deleted service {name}.")


@app.command("run")
@common_options
def run(
    opts: CommonOptions,
    name: NameOption,
    input_data: Annotated[
        str | None,
        typer.Option(
            "--input-data",
            "-d",
            help="Request body: JSON text, or @FILE to read it from a file.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Send one scoring request to the service and print the answer.

    Example: `modelport service run -n digits-svc -d '{"data": [[0, 0, 5, 13, ...]]}'`
    """
    if input_data is None:
        raise UserError("Give the request body with -d/--input-data (JSON text or @file).")
    body = input_data
    if input_data.startswith("@"):
        path = Path(input_data[1:])
        try:
            body = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise UserError(f"Cannot read the input data file {path}: {exc.strerror}.") from None
    answer = _service(opts, name).run(body)
    if opts.output is OutputFormat.table:
        # An answer is any JSON the entry script returns: print it as JSON, on one line.
        sys.stdout.write(json.dumps(apply_query(answer, opts.query)) + "\n")
    else:
        render(answer, opts)


@app.command("get-keys")
@common_options
def get_keys(opts: CommonOptions, name: NameOption) -> None:
    """Print the primary and secondary keys of a key-auth service.

    Example: `modelport service get-keys -n digits-svc --query primaryKey -o tsv`
    """
    primary, secondary = _service(opts, name).get_keys()
    render({"primaryKey": primary, "secondaryKey": secondary}, opts)


@app.command("regen-key")
@common_options
def regen_key(
    opts: CommonOptions,
    name: NameOption,
    key: Annotated[str, typer.Option("--key", "-k", help="Primary or Secondary.")],
    set_key: Annotated[
        str | None,
        typer.Option(
            "--set-key", "-s", help="Use this value instead of a random one.", show_default=False
        ),
    ] = None,
) -> None:
    """Regenerate one key of a key-auth service (running replicas switch at once).

    Example: `modelport service regen-key -n digits-svc -k Primary`
    """
    service = _service(opts, name)
    service.regen_key(key, set_key)
    primary, secondary = service.get_keys()
    render({"primaryKey": primary, "secondaryKey": secondary}, opts)


@app.command("get-access-token")
@common_options
def get_access_token(opts: CommonOptions, name: NameOption) -> None:
    """Print a bearer token for a token-auth service and when to refresh it.

    Example: `modelport service get-access-token -n digits-svc --query accessToken -o tsv`
    """
    answer: dict[str, Any] = _service(opts, name).get_access_token()
    refresh = dt.datetime.fromtimestamp(float(answer["refreshAfter"]), tz=dt.UTC)
    render(
        {
            "accessToken": answer["accessToken"],
            "refreshBy": refresh.isoformat(),
            "tokenType": answer.get("tokenType", "Bearer"),
        },
        opts,
    )
