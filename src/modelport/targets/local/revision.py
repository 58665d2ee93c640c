"""One revision of a service on the local target: its replicas and what it reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from modelport.targets.base import FailureCause, ObservedReplica, ObservedRevision, ReplicaSetSpec
from modelport.targets.local.replica import Replica

# which replica cause a revision reports first
_SEVERITY = ("EntryScriptImportFailed", "InitFailed", "TlsConfigurationFailed", "PortInUse", "OOMKilled",
             "CrashLoop", "CrashedAtStart")  # fmt: skip


@dataclass
class Revision:
    spec: ReplicaSetSpec
    port: int
    dir: Path
    replicas: list[Replica] = field(default_factory=list)
    pending: bool = True
    retiring: bool = False
    cause: FailureCause | None = None
    next_schedule: float = 0.0

    def replica_cause(self) -> FailureCause | None:
        causes = [r.cause for r in self.replicas if r.cause is not None and not r.ready]
        causes.sort(key=lambda c: _SEVERITY.index(c.code) if c.code in _SEVERITY else 99)
        return causes[0] if causes else None

    def observed(self) -> ObservedRevision:
        replicas = tuple(
            ObservedReplica(
                index=r.index,
                revision=self.spec.revision,
                pid=r.pid,
                alive=r.alive,
                ready=r.ready,
                restarts=r.restarts,
                last_exit_code=r.last_exit_code,
                started_at=r.started_at if r.alive else None,
                port=self.port,
                health_port=r.health_port if r.alive else None,
                limits=r.plan.report if r.alive else None,
                cause=r.cause,
                busy=r.busy,
            )
            for r in self.replicas
        )
        cause = self.cause if self.pending else self.replica_cause()
        return ObservedRevision(
            self.spec.revision, self.spec.replicas, replicas, self.retiring, cause
        )
