"""The kubernetes driver: server-side apply of a revision's objects, observation, logs, delete.

One driver per attached cluster (``KubernetesTarget``). A service is one Deployment whose pod
template carries the revision label: applying revision N+1 makes Kubernetes roll the pods with
``maxUnavailable: 0`` (the old pods serve until new ones are ready), so ``retire`` has nothing
left to stop once the rollout is done. Every call goes through lightkube's typed client; what
comes back is mapped by ``status`` (pure functions, tested without a cluster).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx2
import yaml
from lightkube import ApiError, Client, KubeConfig
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.autoscaling_v2 import HorizontalPodAutoscaler
from lightkube.resources.core_v1 import Pod, Secret, Service

from modelport.errors import NotFound, ServerError, UserError
from modelport.targets.base import ObservedService
from modelport.targets.kubernetes.manifests import (
    FIELD_MANAGER,
    LABEL_SERVICE,
    LABEL_WORKSPACE,
    SERVICE_PORT,
    KubeService,
    label_value,
    render,
)
from modelport.targets.kubernetes.status import (
    StateReport,
    deployment_state,
    is_ready,
    observe_revisions,
    pod_name,
)

LOG_LINES = 50


@dataclass(frozen=True)
class KubernetesTarget:
    """An attached cluster: its kubeconfig text (decrypted), context and default namespace."""

    name: str
    kubeconfig: str
    context: str
    namespace: str = "default"
    image_registry: str | None = None

    def client(self, timeout: float = 10.0) -> Client:
        try:
            config = KubeConfig.from_dict(yaml.safe_load(self.kubeconfig)).get(self.context)
        except Exception as exc:  # lightkube raises plain exceptions for a bad kubeconfig
            raise UserError(f"kubeconfig of target {self.name!r} is unusable: {exc}") from None
        return Client(
            config=config,
            namespace=self.namespace,
            field_manager=FIELD_MANAGER,
            timeout=httpx2.Timeout(timeout),
        )


def _split(service: str) -> tuple[str, str]:
    workspace, _, name = service.partition("/")
    return (workspace, name) if name else ("", workspace)


class KubernetesDriver:
    """TargetDriver-shaped access to one cluster; ``apply_service`` takes a rendered revision."""

    def __init__(self, target: KubernetesTarget, client: Client | None = None) -> None:
        self.target = target
        self._client = client

    @property
    def client(self) -> Client:
        if self._client is None:
            self._client = self.target.client()
        return self._client

    @contextlib.contextmanager
    def _api(self, what: str) -> Iterator[None]:
        """Cluster errors as modelport errors that name the target and what was being done."""
        try:
            yield
        except ApiError as exc:
            code = exc.status.code or 0
            message = f"{what} on target {self.target.name!r}: {exc.status.message}"
            if code == 404:
                raise NotFound(message) from None
            if code in (401, 403):
                raise UserError(
                    f"{message} (the kubeconfig's user lacks the rights: it needs to manage "
                    "Deployments, Services, Secrets and HorizontalPodAutoscalers in the namespace)"
                ) from None
            if 400 <= code < 500:
                raise UserError(message) from None
            raise ServerError(message) from None
        except httpx2.TransportError as exc:
            raise ServerError(
                f"{what}: the API server of target {self.target.name!r} cannot be reached "
                f"({type(exc).__name__}: {exc})"
            ) from None

    # -- what the reconciler asks ------------------------------------------------------------
    def apply_service(self, ks: KubeService) -> int:
        """Server-side apply of the revision's objects, in order; returns the Service port."""
        with self._api(f"applying {ks.name} revision {ks.revision}"):
            for obj in render(ks):
                self.client.apply(obj, field_manager=FIELD_MANAGER, force=True)
            if not ks.config.autoscale_enabled:
                # a previous revision's autoscaler would keep resizing the fixed Deployment
                with contextlib.suppress(ApiError):
                    self.client.delete(HorizontalPodAutoscaler, ks.name, namespace=ks.namespace)
        return SERVICE_PORT

    def state(self, service: str, namespace: str | None = None) -> StateReport:
        deployment, pods, logs = self._read(service, namespace, LOG_LINES)
        if deployment is None:
            raise NotFound(f"service {service} has no Deployment on target {self.target.name!r}")
        return deployment_state(deployment, pods, logs)

    def observe(
        self, service: str, log_lines: int = LOG_LINES, namespace: str | None = None
    ) -> ObservedService:
        deployment, pods, logs = self._read(service, namespace, log_lines)
        tail = tuple(line for lines in logs.values() for line in lines)[-log_lines:]
        return ObservedService(
            service, SERVICE_PORT, observe_revisions(deployment, pods, logs), tail
        )

    def retire(self, service: str, revision: int, wait: bool = True) -> None:
        """Nothing to do: the Deployment's rolling update already replaced the revision's pods."""

    def delete(self, service: str, namespace: str | None = None) -> None:
        _, name = _split(service)
        ns = namespace or self.target.namespace
        with self._api(f"deleting {name}"):
            for kind in (HorizontalPodAutoscaler, Service, Deployment, Secret):
                obj_name = f"{name}-auth" if kind is Secret else name
                try:
                    self.client.delete(kind, obj_name, namespace=ns)
                except ApiError as exc:
                    if exc.status.code != 404:
                        raise

    def logs(self, service: str, num_lines: int = 5000, namespace: str | None = None) -> str:
        _, _, logs = self._read(service, namespace, num_lines, every_pod=True)
        return "".join(
            f"--- pod {pod} ---\n" + "".join(line + "\n" for line in lines)
            for pod, lines in logs.items()
        )

    def services(self, namespace: str | None = None) -> list[str]:
        ns = namespace or self.target.namespace
        with self._api("listing services"):
            found = self.client.list(
                Deployment, namespace=ns, labels={"app.kubernetes.io/managed-by": "modelport"}
            )
            return sorted(
                f"{(d.metadata.labels or {}).get(LABEL_WORKSPACE, '')}/{d.metadata.name}"
                for d in found
                if d.metadata is not None
            )

    def adopt(self) -> list[str]:
        """The cluster supervises its pods: nothing to re-attach after a server restart."""
        return []

    def close(self) -> None:
        self._client = None

    # -- reading ------------------------------------------------------------------------------
    def _read(
        self, service: str, namespace: str | None, log_lines: int, *, every_pod: bool = False
    ) -> tuple[Deployment | None, list[Pod], dict[str, list[str]]]:
        """The Deployment, its pods, and log tails: of every pod for ``logs()``, else only of
        pods that are not ready (they explain a failure; the reconciler observes every second)."""
        workspace, name = _split(service)
        ns = namespace or self.target.namespace
        labels = {LABEL_SERVICE: name}
        if workspace:
            labels[LABEL_WORKSPACE] = label_value(workspace)
        with self._api(f"reading {name}"):
            try:
                deployment: Deployment | None = self.client.get(Deployment, name, namespace=ns)
            except ApiError as exc:
                if exc.status.code != 404:
                    raise
                deployment = None
            pods = list(self.client.list(Pod, namespace=ns, labels=labels))  # type: ignore[arg-type]
        wanted = [p for p in pods if every_pod or not is_ready(p)] if log_lines else []
        logs = {pod_name(p): self._pod_log(p, ns, log_lines) for p in wanted}
        return deployment, pods, logs

    def _pod_log(self, pod: Pod, namespace: str, lines: int) -> list[str]:
        """The crashed container's log when it restarted (that explains the crash), else the
        current one's; empty while the container has not started."""
        statuses = (pod.status.containerStatuses or []) if pod.status else []
        name = pod_name(pod)
        if statuses and statuses[0].restartCount:
            with contextlib.suppress(Exception):
                return _previous_log(self.client, name, namespace, lines)
        try:
            text = "".join(self.client.log(name, namespace=namespace, tail_lines=lines))
        except (ApiError, httpx2.HTTPError):
            return []
        return text.splitlines()[-lines:]


def _previous_log(client: Client, name: str, namespace: str, lines: int) -> list[str]:
    """``kubectl logs --previous``: Client.log() has no ``previous``, so the same request is
    built with lightkube's generic client and that parameter added."""
    from lightkube.core.internal_resources import core_v1  # type: ignore[attr-defined]

    generic: Any = client._client
    request = generic.prepare_request(
        "get", core_v1.PodLog, name=name, namespace=namespace,
        params={"tailLines": lines, "previous": True},
    )  # fmt: skip
    response = generic.send(generic.build_adapter_request(request))
    generic.raise_for_status(response)
    return str(response.text).splitlines()[-lines:]
