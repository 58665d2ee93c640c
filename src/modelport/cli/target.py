"""``modelport target attach kubernetes|list|show|detach``: compute targets of a workspace."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from modelport.cli._options import CommonOptions, common_options
from modelport.cli._output import render, render_items

app = typer.Typer(
    help="Attach Kubernetes clusters to a workspace as compute targets (v1's `az ml computetarget "
    "attach aks`), list, show and detach them. Deployments with computeType AKS or kubernetes go "
    "to the target named by computeTargetName, or to the only one attached.",
    no_args_is_help=True,
    rich_markup_mode="markdown",
)
attach_app = typer.Typer(
    help="Attach a compute target.", no_args_is_help=True, rich_markup_mode="markdown"
)
app.add_typer(attach_app, name="attach")

COLUMNS = ["name", "computeType", "context", "namespace", "clusterServer", "imageRegistry"]

EMPTY_HINT = (
    "No compute targets: services run on this machine (computeType local). Attach a Kubernetes "
    "cluster with `modelport target attach kubernetes -n NAME --kubeconfig FILE`."
)

NameOption = Annotated[
    str, typer.Option("--name", "-n", help="Compute target name.", metavar="NAME")
]


@attach_app.command("kubernetes")
@common_options
def attach_kubernetes(
    opts: CommonOptions,
    name: NameOption,
    kubeconfig: Annotated[
        Path | None,
        typer.Option(
            "--kubeconfig",
            help="Kubeconfig file. Default: $KUBECONFIG, else ~/.kube/config. Its text is stored "
            "encrypted on the workspace server.",
            show_default=False,
            metavar="FILE",
        ),
    ] = None,
    context: Annotated[
        str | None,
        typer.Option(
            "--context",
            help="Context to use. Default: the file's current-context.",
            show_default=False,
        ),
    ] = None,
    namespace: Annotated[
        str | None,
        typer.Option(
            "--namespace",
            help="Namespace for services (a config's namespace wins). "
            "Default: the context's, else 'default'.",
            show_default=False,
        ),
    ] = None,
    image_registry: Annotated[
        str | None,
        typer.Option(
            "--image-registry",
            help="Registry the cluster pulls service images from, e.g. registry.example.com/ml.",
            show_default=False,
            metavar="REGISTRY",
        ),
    ] = None,
) -> None:
    """Attach a Kubernetes cluster (names: 2-16 characters, a letter first).

    Example: modelport target attach kubernetes -n prod --kubeconfig ~/.kube/config --context prod-admin --namespace ml --image-registry registry.example.com/ml
    """
    from modelport.sdk.compute_target import ComputeTarget, KubernetesCompute

    config = KubernetesCompute.attach_configuration(kubeconfig, context, namespace, image_registry)
    target = ComputeTarget.attach(opts.workspace(), name, config)
    render(target.serialize(), opts)


@app.command("list")
@common_options
def list_(opts: CommonOptions) -> None:
    """List the compute targets attached to the workspace.

    Example: modelport target list -w vision -o table
    """
    from modelport.sdk.compute_target import ComputeTarget

    items = (t.serialize() for t in ComputeTarget.list(opts.workspace()))
    render_items(items, opts, columns=COLUMNS, empty_hint=EMPTY_HINT)


@app.command("show")
@common_options
def show(opts: CommonOptions, name: NameOption) -> None:
    """Show a compute target and the services deployed to it (never its kubeconfig).

    Example: modelport target show -n prod -o json
    """
    from modelport.sdk.compute_target import ComputeTarget

    render(ComputeTarget(opts.workspace(), name).serialize(), opts)


@app.command("detach")
@common_options
def detach(opts: CommonOptions, name: NameOption) -> None:
    """Detach a compute target (refused while services run on it; the cluster is not changed).

    Example: modelport target detach -n prod
    """
    from modelport.sdk.compute_target import ComputeTarget

    ComputeTarget(opts.workspace(), name).detach()
    render({"name": name, "detached": True}, opts)
