"""The target-driver interface: what the reconciler asks of a target and what it gets back.

A driver turns "this service, this revision, N replicas, these limits" into running replicas and
reports what it sees. The reconciler never handles processes, pods or ports itself: it calls
``apply`` for a new revision, polls ``observe`` until the revision is ready (or has a failure
cause), ``retire``s the old revision, and ``delete``s a service. Calls are cheap and idempotent
except where noted; supervision (restarts, probes) runs inside the driver.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

_SERVICE_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?$")


@dataclass(frozen=True)
class LivenessProbe:
    """Liveness probe settings (deployment config ``livenessProbeRequirements``)."""

    period_seconds: float = 5.0
    timeout_seconds: float = 2.0
    failure_threshold: int = 3
    success_threshold: int = 1
    initial_delay_seconds: float = 0.0


@dataclass(frozen=True)
class ReplicaSetSpec:
    """One revision of one service: how many replicas, what they run, with which limits.

    ``service`` is the driver's key for the service, path-safe, at most one ``/``
    (e.g. ``"<workspace>/<service>"``). Replicas run
    ``<python> -m modelport.serving <argv…> --host H --port P --health-port HP --workers 1``
    in ``working_dir`` (the app root) with ``env`` on top of a minimal base environment.
    ``port=None`` keeps the service's current port, or picks a free one for a new service.
    """

    service: str
    revision: int
    working_dir: str
    argv: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    replicas: int = 1
    port: int | None = None
    host: str = "127.0.0.1"
    python: str = sys.executable
    cpu_cores: float | None = None
    memory_gb: float | None = None
    liveness: LivenessProbe = field(default_factory=LivenessProbe)
    auth_file: str | None = None
    tls_cert: str | None = None
    tls_key: str | None = None
    module: str = "modelport.serving"  # the program replicas run (python -m <module>)

    def __post_init__(self) -> None:
        if not _SERVICE_KEY.match(self.service):
            raise ValueError(f"service key {self.service!r} must match {_SERVICE_KEY.pattern}")
        if self.revision < 1 or self.replicas < 1:
            raise ValueError("revision and replicas must be ≥ 1")
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("tls_cert and tls_key go together")

    def to_json(self) -> dict[str, Any]:
        data = {k: getattr(self, k) for k in self.__dataclass_fields__}
        data["argv"] = list(self.argv)
        data["env"] = dict(self.env)
        data["liveness"] = dict(vars(self.liveness))
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ReplicaSetSpec:
        values = dict(data)
        values["argv"] = tuple(values.get("argv", ()))
        values["liveness"] = LivenessProbe(**values.get("liveness", {}))
        return cls(**values)


# --- failure causes --------------------------------------------------------------------------


@dataclass(frozen=True)
class FailureCause:
    """Why a revision (or one of its replicas) is not running; ``code`` is the service error code."""

    message: str
    details: tuple[str, ...] = ()  # the log lines that explain it
    code: ClassVar[str] = "Failed"

    def to_error(self) -> dict[str, Any]:
        """The ``error`` object of a Service (docs/deploy.md)."""
        return {"code": self.code, "message": self.message, "details": list(self.details)}


class PortInUse(FailureCause):
    """The service port is held by a process that is not one of this service's replicas."""

    code = "PortInUse"


class Unschedulable(FailureCause):
    """The cpu or memory asked for exceeds what this machine has free (retried while pending)."""

    code = "Unschedulable"


class ImportFailed(FailureCause):
    """The entry script could not be imported (syntax error, missing package, missing init/run)."""

    code = "EntryScriptImportFailed"


class InitFailed(FailureCause):
    """The entry script's init() raised (the replica exited with code 3)."""

    code = "InitFailed"


class CrashedAtStart(FailureCause):
    """The replica exited before it ever became ready, for another reason."""

    code = "CrashedAtStart"


class CrashLoop(FailureCause):
    """The replica keeps crashing; it is restarted with a growing backoff."""

    code = "CrashLoop"


class OOMKilled(FailureCause):
    """The replica went over its memory limit and was killed (by the kernel or the watchdog)."""

    code = "OOMKilled"


class TlsConfigurationFailed(FailureCause):
    """The TLS certificate or key could not be used."""

    code = "TlsConfigurationFailed"


# --- what a driver reports -------------------------------------------------------------------


@dataclass(frozen=True)
class EnforcedLimits:
    """How cpu/memory limits were enforced for a replica (reported, never silently dropped)."""

    # "cgroup-v2", "cgroup-v1", "affinity", "rss-watchdog" joined by "+", or "none"
    method: str
    cpus: tuple[int, ...] | None = None  # CPU affinity, when used
    cpu_quota: float | None = None  # cores, when a cgroup cpu quota is used
    memory_bytes: int | None = None  # the memory limit (cgroup, or the RSS watchdog's)
    notes: tuple[str, ...] = ()

    def describe(self) -> str:
        parts = [self.method]
        if self.cpus is not None:
            parts.append(f"cpus {','.join(map(str, self.cpus))}")
        if self.cpu_quota is not None:
            parts.append(f"cpu quota {self.cpu_quota:g} cores")
        if self.memory_bytes is not None:
            parts.append(f"memory {self.memory_bytes / 2**30:.2f} GiB")
        return "; ".join(parts + list(self.notes))


@dataclass(frozen=True)
class ObservedReplica:
    index: int
    revision: int
    pid: int | None
    alive: bool
    ready: bool
    restarts: int
    last_exit_code: int | None
    started_at: float | None  # epoch seconds of the current process's start
    port: int
    health_port: int | None
    limits: EnforcedLimits | None = None
    cause: FailureCause | None = None  # set after a crash, cleared when ready again
    busy: bool = False  # inside run(), so not answering probes; alive and ready (not hung)


@dataclass(frozen=True)
class ObservedRevision:
    revision: int
    desired: int
    replicas: tuple[ObservedReplica, ...]
    retiring: bool = False
    cause: FailureCause | None = None  # pending reason (PortInUse, Unschedulable) or worst replica

    @property
    def ready_replicas(self) -> int:
        return sum(r.ready for r in self.replicas)

    @property
    def ready(self) -> bool:
        """Every desired replica answers its readiness probe."""
        return self.ready_replicas >= self.desired and not self.retiring


@dataclass(frozen=True)
class ObservedService:
    service: str
    port: int | None
    revisions: tuple[ObservedRevision, ...] = ()
    log_tail: tuple[str, ...] = ()

    def revision(self, number: int) -> ObservedRevision | None:
        return next((r for r in self.revisions if r.revision == number), None)

    @property
    def exists(self) -> bool:
        return bool(self.revisions)


class TargetDriver(Protocol):
    """What every target (local, later kubernetes) offers the reconciler."""

    def apply(self, spec: ReplicaSetSpec) -> int:
        """Start the revision's replicas (non-blocking); return the service port."""

    def observe(self, service: str, log_lines: int = 50) -> ObservedService: ...

    def retire(self, service: str, revision: int, wait: bool = True) -> None:
        """Drain and stop one revision (SIGTERM, grace period, then SIGKILL)."""

    def delete(self, service: str) -> None:
        """Stop every revision of the service and forget it; blocks until nothing is left."""

    def adopt(self) -> list[str]:
        """On server start: re-attach to replicas that outlived the server, restart missing ones."""

    def logs(self, service: str, num_lines: int = 5000) -> str: ...

    def services(self) -> list[str]: ...

    def close(self) -> None:
        """Stop supervising (the server is shutting down); replicas keep running."""
