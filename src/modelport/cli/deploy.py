"""``modelport model deploy``: deploy models as a service and follow the operation until it ends.

The display goes to stderr (stdout keeps the machine-readable result): on a terminal a Rich live
status line under the scrolling deployment log, elsewhere plain lines (cli/_operation.py, shared
with ``service update/reload``). The command exits 0 only when the service ends Healthy; otherwise
it prints the cause on one line, the log tail and the command that shows the whole log, and
exits 1. The options it shares with ``service update`` and ``model package`` are
cli/_deploy_inputs.py.
"""

from __future__ import annotations

from typing import Annotated

import typer

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
from modelport.cli._operation import finish, follow_operation
from modelport.cli._options import CommonOptions, common_options, parse_pairs
from modelport.cli._output import render

EXAMPLE = """Example: deploy model digits version 1 with the v1 config files, wait until Healthy:

    modelport model deploy -n digits-svc -m digits:1 --ic inferenceconfig.json --dc deploymentconfig.json

Exit code 0 when the service is Healthy, 1 otherwise (the cause and the log tail are printed)."""

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
