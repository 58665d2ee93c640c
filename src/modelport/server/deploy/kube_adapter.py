"""The deploy code's driver adapter, with AKS/kubernetes services sent to their attached cluster.

``KubernetesRouting`` is a ``DriverAdapter``: local and ACI services go to the local driver as
before; a service whose ``computeType`` is AKS or kubernetes goes to the cluster its
``computeTargetName`` names (else the workspace's only one). For such a service ``apply`` builds
the revision's package image (the same build context ``modelport model package`` makes: app root,
models, the locked environment), pushes it to the target's registry, and server-side applies the
revision's objects; the Deployment's rolling update replaces the old pods, so there is nothing to
retire afterwards. Why an image and not an init container fetching models from the workspace
server: the pods then need no route, credential or uptime of the workspace server, and a
revision's image is the immutable record of what ran (docs/kubernetes.md).
"""

from __future__ import annotations

import json
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from modelport.errors import UserError
from modelport.server.crypto import SecretBox
from modelport.server.deploy.driver import DriverAdapter, Observation, ReplicaPlan, _observation
from modelport.server.store import targets
from modelport.server.store.services import Service
from modelport.specs.fields import AKS, KUBERNETES

if TYPE_CHECKING:
    from modelport.server.context import ServerContext
    from modelport.targets.kubernetes.driver import KubernetesDriver

KUBE_TYPES = (AKS, KUBERNETES)


class KubernetesRouting(DriverAdapter):
    def __init__(self, run_dir: Path, server: ServerContext) -> None:
        super().__init__(run_dir)
        self.server = server
        self._drivers: dict[tuple[str, str], tuple[KubernetesDriver, str]] = {}
        self._kube_lock = threading.Lock()

    # -- which services go where -------------------------------------------------------------
    def _kube_config(self, workspace: str, name: str) -> dict[str, Any] | None:
        with self.server.store.read() as s:
            row = s.execute(
                select(Service.compute_type, Service.deployment_config).where(
                    Service.workspace == workspace, Service.name == name
                )
            ).first()
        if row is None or row[0] not in KUBE_TYPES:
            return None
        return dict(row[1] or {})

    def _kube_driver(self, workspace: str, config: dict[str, Any]) -> tuple[KubernetesDriver, str]:
        """(driver, namespace) of the service's target; a UserError naming the attach command
        when the workspace has no cluster."""
        from modelport.targets.kubernetes.driver import KubernetesDriver, KubernetesTarget

        with self.server.store.read() as s:
            row = targets.for_deployment(s, workspace, config.get("computeTargetName"))
            key = (workspace, row.name)
            with self._kube_lock:
                if key not in self._drivers:
                    box = SecretBox.for_home(Path(self.server.settings.home))
                    target = KubernetesTarget(
                        row.name,
                        box.decrypt(row.kubeconfig_enc),
                        row.context,
                        row.namespace,
                        row.image_registry,
                    )
                    self._drivers[key] = (KubernetesDriver(target), row.namespace)
                driver, namespace = self._drivers[key]
        return driver, str(config.get("namespace") or namespace)

    # -- the adapter's methods ---------------------------------------------------------------
    def apply(self, plan: ReplicaPlan) -> int:
        if plan.config.get("computeType") not in KUBE_TYPES:
            return super().apply(plan)
        from modelport.targets.kubernetes.plan import Placement, kube_service

        driver, namespace = self._kube_driver(plan.workspace, plan.config)
        target = driver.target
        document = None
        if plan.auth_file:
            document = json.loads(Path(plan.auth_file).read_text(encoding="utf-8"))
        placement = Placement(target.name, namespace, target.image_registry)
        ks = kube_service(
            plan.workspace, plan.service, plan.revision, plan.deployment_config, placement, document
        )
        self._build_and_push(plan, ks.image, pushed=target.image_registry is not None)
        return driver.apply_service(ks)

    def observe(self, workspace: str, name: str, revision: int) -> Observation:
        config = self._kube_config(workspace, name)
        if config is None:
            return super().observe(workspace, name, revision)
        driver, namespace = self._kube_driver(workspace, config)
        observed = driver.observe(f"{workspace}/{name}", namespace=namespace)
        rev = observed.revision(revision)
        if rev is None:
            return Observation(ready=False, unknown=True, log_lines=list(observed.log_tail))
        return _observation(rev, list(observed.log_tail))

    def retire(self, workspace: str, name: str, revision: int) -> None:
        if self._kube_config(workspace, name) is None:
            super().retire(workspace, name, revision)

    def retire_others(self, workspace: str, name: str, keep: int) -> None:
        if self._kube_config(workspace, name) is None:
            super().retire_others(workspace, name, keep)

    def delete(self, workspace: str, name: str) -> None:
        config = self._kube_config(workspace, name)
        if config is None:
            super().delete(workspace, name)
            return
        driver, namespace = self._kube_driver(workspace, config)
        driver.delete(f"{workspace}/{name}", namespace=namespace)

    def logs(self, service: Service, num_lines: int) -> str:
        if service.compute_type not in KUBE_TYPES:
            return super().logs(service, num_lines)
        config = dict(service.deployment_config or {})
        driver, namespace = self._kube_driver(service.workspace, config)
        return driver.logs(f"{service.workspace}/{service.name}", num_lines, namespace=namespace)

    def replicas(self, service: Service) -> list[dict[str, Any]]:
        if service.compute_type not in KUBE_TYPES:
            return super().replicas(service)
        config = dict(service.deployment_config or {})
        driver, namespace = self._kube_driver(service.workspace, config)
        observed = driver.observe(f"{service.workspace}/{service.name}", 0, namespace=namespace)
        return [
            {"pid": None, "revision": r.revision, "ready": r.ready, "restarts": r.restarts,
             "limits": "kubernetes requests/limits"}
            for rev in observed.revisions
            for r in rev.replicas
        ]  # fmt: skip

    def scoring_uri(self, service: Service) -> str:
        if service.compute_type not in KUBE_TYPES:
            return super().scoring_uri(service)
        config = dict(service.deployment_config or {})
        _, namespace = self._kube_driver(service.workspace, config)
        # the in-cluster address; from outside, an Ingress or a LoadBalancer (docs/kubernetes.md)
        return f"http://{service.name}.{namespace}.svc.cluster.local/score"

    # -- the revision's image -----------------------------------------------------------------
    def _build_and_push(self, plan: ReplicaPlan, tag: str, *, pushed: bool) -> None:
        """The package image of the revision being rolled out, built here and pushed."""
        from modelport.environments import runtime
        from modelport.packaging import assemble, context
        from modelport.packaging.build import build_image, find_builder

        dctx = self.server.deploy
        log = dctx.log_writer(plan.workspace, plan.service)
        repo, _, label = tag.rpartition(":")
        body = {"imageName": repo, "imageLabel": label}
        inputs = assemble.from_service(
            dctx, plan.workspace, plan.service, body, log, revision=plan.revision
        )
        full = assemble.lock_environment(dctx, plan.workspace, inputs, log)
        snap = runtime.snapshot(dctx.env_cache, runtime.fingerprint())
        with tempfile.TemporaryDirectory(prefix="modelport-kube-") as tmp:
            ctx_dir = context.write_context(
                Path(tmp) / "context", full, dctx.server.artifacts.path, snap.root
            )
            build_image(ctx_dir, tag, log=log)
        if not pushed:
            log(f"Image {tag} built; no --image-registry on the target: the cluster must find it.")
            return
        tool = find_builder()
        done = subprocess.run([tool, "push", tag], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise UserError(f"{tool} push {tag} failed: {done.stderr.strip()[-500:]}")
        log(f"Pushed {tag}.")
