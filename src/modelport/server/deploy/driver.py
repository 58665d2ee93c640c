"""The reconciler's view of the target driver: ReplicaSetSpec in, plain observations out.

The only module of the deploy code that knows ``modelport.targets``; it maps a revision and its
deployment configuration to a ReplicaSetSpec and the driver's reports to what the rollout needs.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from modelport.server.store.services import Service
    from modelport.specs.deployment import DeploymentConfig
    from modelport.targets.base import ObservedRevision, ReplicaSetSpec, TargetDriver

# Causes that only mean "not yet": the rollout keeps waiting (Unschedulable has its own timeout).
PENDING_CAUSES = ("Unschedulable",)


@dataclass
class ReplicaPlan:
    """What to run for one revision (built by the rollout from the store)."""

    workspace: str
    service: str
    revision: int
    python: str
    app_root: str
    entry_script: str
    port: int
    env: dict[str, str]
    config: dict[str, Any]  # the revision's deployment config JSON (v1 camelCase)
    auth_file: str | None = None
    tls_cert: str | None = None  # PEM files written for this revision when sslEnabled
    tls_key: str | None = None

    @property
    def key(self) -> str:
        return service_key(self.workspace, self.service)

    @property
    def deployment_config(self) -> DeploymentConfig:
        from modelport.specs.deployment import DeploymentConfig

        return DeploymentConfig.from_json(self.config)

    @property
    def replicas(self) -> int:
        config = self.deployment_config
        # an autoscaled AKS/kubernetes config has no numReplicas: its autoscaler's floor
        return int(config.num_replicas or getattr(config, "autoscale_min_replicas", 1))

    @property
    def initial_delay(self) -> float:
        return float(self.deployment_config.initial_delay_seconds)

    def spec(self) -> ReplicaSetSpec:
        """The driver's spec through the one config → target mapping (targets/from_config.py)."""
        from modelport.targets.from_config import replica_set_spec

        argv = ["--entry-script", self.entry_script, "--app-root", self.app_root]
        argv += ["--source-dir", self.app_root]
        if self.env.get("MODELPORT_MODEL_DIR"):
            argv += ["--model-dir", self.env["MODELPORT_MODEL_DIR"]]
        spec = replica_set_spec(
            self.deployment_config,
            service=self.key,
            revision=self.revision,
            working_dir=self.app_root,
            argv=argv,
            env=self.env,
            python=self.python,
            auth_file=self.auth_file,
            tls_cert=self.tls_cert,
            tls_key=self.tls_key,
        )
        # the server allocated the port at create time and keeps it for every revision
        return dataclasses.replace(spec, port=self.port or None)


def service_key(workspace: str, name: str) -> str:
    return f"{workspace}/{name}"


@dataclass
class Observation:
    """One revision as the rollout and the supervisor need it."""

    ready: bool
    ready_count: int = 0
    failure: str | None = None  # a typed failure code, final for a rollout
    pending: str | None = None  # a "not yet" code (Unschedulable)
    message: str | None = None
    log_lines: list[str] = field(default_factory=list)
    unknown: bool = False  # the driver runs nothing for this revision
    restarts: int = 0


class DriverAdapter:
    """Wraps the local driver (created lazily so that importing the server stays cheap)."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self._driver: TargetDriver | None = None
        self._lock = threading.Lock()

    @property
    def driver(self) -> TargetDriver:
        with self._lock:
            if self._driver is None:
                from modelport.targets.local.driver import LocalDriver

                self._driver = LocalDriver(self.run_dir)
            return self._driver

    def adopt(self) -> list[str]:
        return self.driver.adopt()

    def close(self) -> None:
        if self._driver is not None:
            self._driver.close()

    def apply(self, plan: ReplicaPlan) -> int:
        return self.driver.apply(plan.spec())

    def wait_change(self, timeout: float) -> None:
        """Until the local driver's next supervision pass or a replica's ready signal."""
        wait = getattr(self.driver, "wait_change", None)
        if wait is None:  # a driver without notifications: a short poll
            time.sleep(min(timeout, 0.05))
        else:
            wait(timeout)

    def observe(self, workspace: str, name: str, revision: int) -> Observation:
        observed = self.driver.observe(service_key(workspace, name))
        rev = observed.revision(revision)
        if rev is None:
            return Observation(ready=False, unknown=True, log_lines=list(observed.log_tail))
        return _observation(rev, list(observed.log_tail))

    def retire(self, workspace: str, name: str, revision: int) -> None:
        self.driver.retire(service_key(workspace, name), revision, wait=True)

    def retire_others(self, workspace: str, name: str, keep: int) -> None:
        key = service_key(workspace, name)
        for rev in self.driver.observe(key).revisions:
            if rev.revision != keep:
                self.driver.retire(key, rev.revision, wait=True)

    def delete(self, workspace: str, name: str) -> None:
        self.driver.delete(service_key(workspace, name))

    def logs(self, service: Service, num_lines: int) -> str:
        return self.driver.logs(service_key(service.workspace, service.name), num_lines)

    def replicas(self, service: Service) -> list[dict[str, Any]]:
        observed = self.driver.observe(service_key(service.workspace, service.name), log_lines=0)
        return [
            {
                "pid": r.pid,
                "revision": r.revision,
                "ready": r.ready,
                "busy": r.busy,  # inside a long run(): Healthy, probes unanswered until it returns
                "restarts": r.restarts,
                # how cpu/memory limits are enforced (cgroup v2, affinity + rlimit, none)
                "limits": r.limits.describe() if r.limits is not None else None,
            }
            for rev in observed.revisions
            for r in rev.replicas
        ]

    def scoring_uri(self, service: Service) -> str:
        from modelport.server.deploy.tls import scoring_uri

        return scoring_uri(service.deployment_config or {}, service.port)


def _observation(rev: ObservedRevision, tail: list[str]) -> Observation:
    restarts = sum(r.restarts for r in rev.replicas)
    if rev.ready:
        return Observation(True, rev.ready_replicas, restarts=restarts)
    cause = rev.cause or next((r.cause for r in rev.replicas if r.cause is not None), None)
    if cause is None:
        return Observation(False, rev.ready_replicas, log_lines=tail, restarts=restarts)
    lines = list(cause.details) or tail
    if cause.code in PENDING_CAUSES:
        return Observation(False, rev.ready_replicas, pending=cause.code, message=cause.message,
                           log_lines=lines, restarts=restarts)  # fmt: skip
    return Observation(False, rev.ready_replicas, failure=cause.code, message=cause.message,
                       log_lines=lines, restarts=restarts)  # fmt: skip
