"""``modelport service export --format kubernetes`` and ``model deploy --dry-run``: manifests.

The manifests go to stdout (multi-document YAML, or a JSON list with ``-o json``), ready for a
GitOps repository; notes (which image to build and push, where the Secret comes from) go to
stderr so they never end up in the files.
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from typing import Annotated, Any

import typer

from modelport.cli._options import CommonOptions, OutputFormat, common_options
from modelport.errors import UserError


class ExportFormat(StrEnum):
    kubernetes = "kubernetes"


def print_manifests(answer: dict[str, Any], opts: CommonOptions) -> None:
    for note in answer.get("notes", []):
        print(f"# {note}", file=sys.stderr)
    objects = answer["objects"]
    if opts.output == OutputFormat.json:
        sys.stdout.write(json.dumps(objects, indent=2) + "\n")
        return
    import yaml

    sys.stdout.write(yaml.safe_dump_all(objects, sort_keys=False, default_flow_style=False))


def dry_run(opts: CommonOptions, ws_name: str | None, name: str, config: Any) -> None:
    """``model deploy --dry-run``: the manifests an AKS/kubernetes deployment would apply."""
    from modelport.sdk.compute_target import render_kubernetes

    compute = getattr(config, "compute_type", None)
    if compute not in ("AKS", "kubernetes"):
        raise UserError(
            "--dry-run prints the Kubernetes manifests of a deployment: give a --dc whose "
            f"computeType is AKS or kubernetes (got {compute or 'none'})"
        )
    print_manifests(render_kubernetes(opts.workspace(ws_name), name, config), opts)


def with_compute_target(config: Any, target: str) -> Any:
    """``model deploy --ct NAME`` (v1's flag): the config's computeTargetName, for AKS configs."""
    from modelport.sdk.compute_target import with_deployment_target

    if config is None:
        raise UserError(f"--compute-target {target} goes with a --dc of computeType AKS/kubernetes")
    return with_deployment_target(config, target)


def register(app: typer.Typer) -> None:
    """Add ``export`` to the ``service`` group."""

    @app.command("export")
    @common_options
    def export(
        opts: CommonOptions,
        name: Annotated[str, typer.Option("--name", "-n", help="Service name.")],
        format_: Annotated[
            ExportFormat,
            typer.Option(
                "--format",
                help="What to export: kubernetes (Deployment, Service, "
                "Secret, HorizontalPodAutoscaler).",
            ),
        ] = ExportFormat.kubernetes,
    ) -> None:
        """Print a service's Kubernetes manifests (YAML; -o json for a JSON list), for GitOps.

        Local and ACI services export too (their replicas, resources, probes and auth carry
        over). Notes on the image to build and push go to stderr.

        Example: modelport service export -n digits --format kubernetes > k8s/digits.yaml
        """
        from modelport.sdk.compute_target import kubernetes_manifests

        print_manifests(kubernetes_manifests(opts.workspace(), name), opts)
