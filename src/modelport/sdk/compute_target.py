"""Compute targets, as v1's ``azureml.core.compute``: attach a Kubernetes cluster to a workspace.

    from modelport.sdk.compute_target import ComputeTarget, KubernetesCompute
    config = KubernetesCompute.attach_configuration(kubeconfig="~/.kube/config", namespace="ml")
    target = ComputeTarget.attach(ws, "prod", config)
    ComputeTarget.list(ws); target.detach()

The kubeconfig file is read here and its text sent to the workspace server, which stores it
encrypted and uses it to drive the cluster (docs/kubernetes.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelport.errors import UserError
from modelport.sdk._http import seg

if TYPE_CHECKING:
    from modelport.sdk.workspace import Workspace

__all__ = ["ComputeTarget", "KubernetesAttachConfiguration", "KubernetesCompute"]


@dataclass(frozen=True)
class KubernetesAttachConfiguration:
    """What ``ComputeTarget.attach`` sends: the kubeconfig's text and where to deploy."""

    kubeconfig: str
    context: str | None = None
    namespace: str | None = None
    image_registry: str | None = None


def _collection(workspace: Workspace) -> str:
    return f"/workspaces/{seg(workspace.name)}/computeTargets"


class ComputeTarget:
    """An attached compute target: ``ComputeTarget(ws, "prod")``; ``ComputeTarget.list(ws)``."""

    type = "kubernetes"

    def __init__(self, workspace: Workspace, name: str) -> None:
        details = workspace._client.get(f"{_collection(workspace)}/{seg(name)}")
        self._set(workspace, details)

    def _set(self, workspace: Workspace, d: Mapping[str, Any]) -> None:
        self.workspace = workspace
        self.name: str = d["name"]
        self.type = d.get("computeType", "kubernetes")
        self.context: str | None = d.get("context")
        self.cluster_server: str | None = d.get("clusterServer")
        self.namespace: str | None = d.get("namespace")
        self.image_registry: str | None = d.get("imageRegistry")
        self.provisioning_state: str | None = d.get("provisioningState")
        self._details = dict(d)

    @classmethod
    def _from_json(cls, workspace: Workspace, d: Mapping[str, Any]) -> ComputeTarget:
        obj = object.__new__(KubernetesCompute)
        obj._set(workspace, d)
        return obj

    @staticmethod
    def attach(
        workspace: Workspace, name: str, attach_configuration: KubernetesAttachConfiguration
    ) -> ComputeTarget:
        """Attach a cluster under ``name`` (v1: ``ComputeTarget.attach(ws, name, config)``)."""
        c = attach_configuration
        body = {"name": name, "computeType": "kubernetes", "kubeconfig": c.kubeconfig}
        for key, value in (
            ("context", c.context),
            ("namespace", c.namespace),
            ("imageRegistry", c.image_registry),
        ):
            if value is not None:
                body[key] = value
        answer = workspace._client.post(_collection(workspace), body)
        return ComputeTarget._from_json(workspace, answer)

    @staticmethod
    def list(workspace: Workspace) -> list[ComputeTarget]:
        page = workspace._client.get(_collection(workspace))
        return [ComputeTarget._from_json(workspace, d) for d in page["value"]]

    def get_status(self) -> str | None:
        return self.provisioning_state

    def wait_for_completion(self, show_output: bool = False) -> None:
        """Attaching completes when ``attach`` returns (kept for v1 scripts)."""

    def detach(self) -> None:
        """Forget the cluster (refused while services run on it); the cluster is not changed."""
        self.workspace._client.delete(f"{_collection(self.workspace)}/{seg(self.name)}")

    def serialize(self) -> dict[str, Any]:
        return dict(self._details)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(workspace={self.workspace.name!r}, name={self.name!r}, "
            f"context={self.context!r}, namespace={self.namespace!r})"
        )


class KubernetesCompute(ComputeTarget):
    """A Kubernetes cluster reached with a kubeconfig."""

    @staticmethod
    def attach_configuration(
        kubeconfig: str | Path | None = None,
        context: str | None = None,
        namespace: str | None = None,
        image_registry: str | None = None,
    ) -> KubernetesAttachConfiguration:
        """Read the kubeconfig (default ``$KUBECONFIG``, else ``~/.kube/config``)."""
        return KubernetesAttachConfiguration(
            read_kubeconfig(kubeconfig), context, namespace, image_registry
        )


def read_kubeconfig(path: str | Path | None) -> str:
    """The kubeconfig's text, with the files it points to (CA, client certificate and key, as
    minikube writes them) inlined as ``*-data``: the server that uses it has no such files."""
    import os

    if path is None:
        first = (os.environ.get("KUBECONFIG") or "").split(os.pathsep)[0]
        path = first or "~/.kube/config"
    file = Path(path).expanduser()
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"kubeconfig file {file} not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read kubeconfig file {file}: {exc}") from None
    return inline_kubeconfig_files(text, file.parent)


_FILE_KEYS = {
    "clusters": ("cluster", ("certificate-authority",)),
    "users": ("user", ("client-certificate", "client-key")),
}


def inline_kubeconfig_files(text: str, base: Path) -> str:
    import base64

    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return text  # the server says what is wrong with it
    if not isinstance(data, dict):
        return text
    changed = False
    for section, (inner, keys) in _FILE_KEYS.items():
        for entry in data.get(section) or []:
            body = entry.get(inner) if isinstance(entry, dict) else None
            for key in keys:
                if not isinstance(body, dict) or not isinstance(body.get(key), str):
                    continue
                target = (base / Path(body[key]).expanduser()).resolve()
                try:
                    content = target.read_bytes()
                except OSError as exc:
                    raise UserError(f"kubeconfig names {key} {target}: {exc.strerror}") from None
                body[f"{key}-data"] = base64.b64encode(content).decode("ascii")
                del body[key]
                changed = True
    return yaml.safe_dump(data, sort_keys=False) if changed else text


# -- Kubernetes manifests, for teams that apply through GitOps -----------------------------------


def kubernetes_manifests(workspace: Workspace, service: str) -> dict[str, Any]:
    """``{"objects": [...], "notes": [...]}``: the Kubernetes objects of a deployed service."""
    answer: dict[str, Any] = workspace._client.get(
        f"/workspaces/{seg(workspace.name)}/services/{seg(service)}/kubernetes"
    )
    return answer


def render_kubernetes(workspace: Workspace, name: str, deployment_config: Any) -> dict[str, Any]:
    """What deploying ``deployment_config`` as ``name`` would apply (nothing is deployed)."""
    from modelport.sdk.deploy import config_json, resolve_deployment_config

    data = config_json(resolve_deployment_config(deployment_config))
    answer: dict[str, Any] = workspace._client.post(
        f"/workspaces/{seg(workspace.name)}/kubernetes/manifests",
        {"name": name, "deploymentConfig": data},
    )
    return answer


def with_deployment_target(config: Any, target: Any) -> Any:
    """``Model.deploy(..., deployment_target=target)``: the config's computeTargetName."""
    from modelport.specs import parse_deployment_config

    name = target.name if isinstance(target, ComputeTarget) else target
    if not isinstance(name, str):
        raise UserError(
            "deployment_target must be an attached ComputeTarget (or its name), got "
            f"{type(target).__name__}"
        )
    if config.compute_type not in ("AKS", "kubernetes"):
        raise UserError(
            f"deployment_target {name!r} is a Kubernetes target: use an AKS/kubernetes "
            "deployment_config (AksWebservice.deploy_configuration(...)); local and ACI "
            "services run on the workspace server's machine"
        )
    named = parse_deployment_config(
        {"computeType": config.compute_type, "computeTargetName": name}, "deployment_target"
    )
    return config.updated(named)
