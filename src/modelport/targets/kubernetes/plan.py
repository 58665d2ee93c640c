"""From a service (or a deployment config about to be deployed) to a ``KubeService``.

Shared by the driver wiring, ``service export --format kubernetes`` and ``model deploy
--dry-run``, so the three agree on names: the image a revision runs is
``<registry>/<workspace>/<service>:rev-<N>`` (registry: the target's ``--image-registry``, else
``localhost``), the namespace is the config's ``namespace``, else the target's, else ``default``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from modelport.errors import UserError
from modelport.specs.deployment import DeploymentConfig, parse_deployment_config
from modelport.specs.fields import AKS, KUBERNETES, SCHEMA_OF, fields_for
from modelport.targets.kubernetes.manifests import KubeService

DEFAULT_REGISTRY = "localhost"
_REPO_PART = re.compile(r"[^a-z0-9._-]+")


@dataclass(frozen=True)
class Placement:
    """Where a service goes: the attached target's defaults (or none attached)."""

    target: str | None = None
    namespace: str = "default"
    image_registry: str | None = None


def image_for(workspace: str, service: str, revision: int, registry: str | None) -> str:
    ws = _REPO_PART.sub("-", workspace.lower()).strip("-._") or "default"
    return f"{(registry or DEFAULT_REGISTRY).rstrip('/')}/{ws}/{service}:rev-{revision}"


def as_kubernetes(config: DeploymentConfig) -> DeploymentConfig:
    """An AKS/kubernetes config as is; a local/ACI one carried over field by field (replicas,
    resources, probes, request limits, auth), for exporting a service tried out locally."""
    if SCHEMA_OF[config.compute_type] == AKS:
        return config
    data: dict[str, Any] = {"computeType": KUBERNETES, "numReplicas": config.num_replicas}
    for spec in fields_for(config.compute_type):
        value = config.value(spec)
        if value is None or not spec.accepts(KUBERNETES) or spec.name == "num_replicas":
            continue
        node = data
        *parents, leaf = spec.key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return parse_deployment_config(data, "deploymentConfig")


def kube_service(
    workspace: str,
    name: str,
    revision: int,
    config: DeploymentConfig,
    placement: Placement,
    auth_document: Mapping[str, Any] | None,
    image: str | None = None,
) -> KubeService:
    config = as_kubernetes(config)
    if config.ssl_enabled:
        # the pods would serve plain HTTP: refusing beats a silent downgrade
        raise UserError(
            "sslEnabled is not applied by the kubernetes target: terminate TLS at an Ingress "
            "in front of the Service (docs/kubernetes.md) and deploy with sslEnabled false"
        )
    return KubeService(
        name=name,
        workspace=workspace,
        revision=revision,
        image=image or image_for(workspace, name, revision, placement.image_registry),
        config=config,
        namespace=config.namespace or placement.namespace,
        auth_document=auth_document,
    )
