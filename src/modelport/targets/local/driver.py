"""The local target driver: replicas as supervised processes on this machine.

Replicas of a service share its port through SO_REUSEPORT (the kernel balances; no proxy). Each
replica also has a private health port, which the supervisor polls for readiness (200 once
init() finished) and liveness (any answer). A background thread (supervisor.py) restarts dead
replicas with an exponential backoff, types their failures, and finishes retirements. Replicas run
in their own session, so they outlive the workspace server; ``adopt()`` re-attaches to them from
the run dir. This module is the driver's interface (apply, observe, retire, delete, adopt).
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import shutil
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from modelport.errors import Conflict
from modelport.targets.base import (
    ObservedRevision,
    ObservedService,
    ReplicaSetSpec,
)
from modelport.targets.local import isolation, limits, rundir
from modelport.targets.local.host import enable_tcp_migrate_req, kill_strays
from modelport.targets.local.replica import Replica, free_port
from modelport.targets.local.revision import Revision
from modelport.targets.local.supervisor import Supervisor

log = logging.getLogger("modelport.targets.local")


class LocalDriver(Supervisor):
    """Target driver for ``computeType`` local and ACI (see docs/targets.md)."""

    def __init__(
        self,
        run_dir: str | Path,
        *,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
        crash_loop_after: int = 3,
        crash_window: float = 120.0,
        stop_grace: float = 15.0,
        tick: float = 0.1,
        cgroup_root: str | Path = limits.CGROUP_ROOT,
    ) -> None:
        self.run_dir = Path(run_dir).resolve()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.backoff_base, self.backoff_cap = backoff_base, backoff_cap
        self.crash_loop_after, self.crash_window = crash_loop_after, crash_window
        self.stop_grace, self.tick = stop_grace, tick
        self.cgroup_root = Path(cgroup_root)
        self.tcp_migrate_req = enable_tcp_migrate_req()
        self._revisions: dict[tuple[str, int], Revision] = {}
        self._lock = threading.RLock()
        # notified on every supervision pass and at once when a replica says it is ready
        self._changed = threading.Condition(self._lock)
        self._closing = threading.Event()
        self._wake_r, self._wake_w = os.pipe()  # apply/retire/close wake the loop at once
        os.set_blocking(self._wake_w, False)
        self._thread: threading.Thread | None = None
        self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="modelport-probe")

    # --- the TargetDriver interface ---------------------------------------------------------

    def apply(self, spec: ReplicaSetSpec) -> int:
        """Start a revision's replicas in the background; return the service port."""
        with self._lock:
            key = (spec.service, spec.revision)
            existing = self._revisions.get(key)
            if existing is not None:
                if existing.spec != spec:
                    raise Conflict(f"revision {spec.revision} of {spec.service} already runs "
                                   "with a different spec: apply a new revision")  # fmt: skip
                return existing.port
            port = spec.port or self._service_port(spec.service) or free_port(spec.host)
            service_dir = rundir.service_dir(self.run_dir, spec.service)
            service_dir.mkdir(parents=True, exist_ok=True)
            (service_dir / "port").write_text(str(port))
            rev_dir = rundir.revision_dir(self.run_dir, spec.service, spec.revision)
            rundir.write_json(rev_dir / "spec.json", spec.to_json())
            rev = Revision(spec, port, rev_dir)
            rev.replicas = [
                Replica(spec, i, port, rev_dir, self.run_dir, self.cgroup_root)
                for i in range(spec.replicas)
            ]
            self._revisions[key] = rev
            log.info("%s rev %d: %d replica(s) on port %d", spec.service, spec.revision,
                     spec.replicas, port)  # fmt: skip
        self._ensure_thread()
        self._wake()
        return port

    def observe(self, service: str, log_lines: int = 50) -> ObservedService:
        with self._lock:
            revs = sorted((r for (s, _), r in self._revisions.items() if s == service),
                          key=lambda r: r.spec.revision)  # fmt: skip
            observed = tuple(rev.observed() for rev in revs)
            port = self._service_port(service)
        tail: list[str] = []
        if revs and log_lines > 0:
            newest = revs[-1]
            failing = [r for r in newest.replicas if r.cause is not None] or newest.replicas
            tail = rundir.tail(failing[0].log_path, log_lines)
        return ObservedService(service, port, observed, tuple(tail))

    def retire(self, service: str, revision: int, wait: bool = True) -> None:
        """Drain and stop a revision: SIGTERM, then SIGKILL after ``stop_grace`` seconds."""
        with self._lock:
            rev = self._revisions.get((service, revision))
            if rev is None:
                return
            if not rev.retiring:
                rev.retiring = True
                with contextlib.suppress(OSError):  # another driver may have removed it
                    (rev.dir / "retired").touch()
                deadline = time.monotonic() + self.stop_grace
                for r in rev.replicas:
                    r.next_start = math.inf
                    r.stop_deadline = deadline
                    r.signal(signal.SIGTERM)
                log.info("%s rev %d: retiring", service, revision)
        self._ensure_thread()
        self._wake()
        if wait:
            self._wait_gone(lambda: (service, revision) not in self._revisions)

    def delete(self, service: str) -> None:
        """Stop every revision, kill anything left in the service's process groups, forget it."""
        with self._lock:
            numbers = [n for (s, n) in self._revisions if s == service]
        for number in numbers:
            self.retire(service, number, wait=False)
        self._wait_gone(lambda: not any(s == service for (s, _) in self._revisions))
        kill_strays(self.run_dir, lambda env: env.get("MODELPORT_SERVICE_KEY") == service)
        with self._lock:
            folder = rundir.service_dir(self.run_dir, service)
            shutil.rmtree(folder, ignore_errors=True)
            if folder.parent != self.run_dir:
                with contextlib.suppress(OSError):
                    folder.parent.rmdir()  # the workspace folder, once empty
            if not any(s == service for (s, _) in self._revisions):  # no deploy raced in
                isolation.remove_user(service)  # under the lock: no replica of it can start
        log.info("%s: deleted", service)

    def adopt(self) -> list[str]:
        """Re-attach to replicas recorded in the run dir; restart dead ones; kill unknown strays."""
        now = time.monotonic()
        with self._lock:
            for service in rundir.services(self.run_dir):
                port = self._service_port(service)
                for number in rundir.revisions(self.run_dir, service):
                    if (service, number) not in self._revisions and port is not None:
                        self._adopt_revision(service, number, port, now)
        self._ensure_thread()
        # Strays (replicas no state file accounts for: a server killed between a start and its
        # state file) are found by reading every process's environment, which takes seconds on a
        # busy host: off the reconciler's first pass, so new deploys never wait for it. The pids
        # to keep are read after the scan, so a replica started meanwhile is kept.
        threading.Thread(
            target=kill_strays,
            args=(self.run_dir, lambda env: True),
            kwargs={"keep": self._known_pids},
            name="modelport-stray-sweep",
            daemon=True,
        ).start()
        return self.services()

    def _known_pids(self) -> set[int]:
        with self._lock:
            return {r.pid for rev in self._revisions.values() for r in rev.replicas if r.pid}

    def logs(self, service: str, num_lines: int = 5000) -> str:
        """Every replica log of the service's revisions, each headed by its name."""
        parts = []
        for number in rundir.revisions(self.run_dir, service):
            rev_dir = rundir.revision_dir(self.run_dir, service, number)
            for path in sorted(rev_dir.glob("replica-*.log")):
                parts.append(f"==> rev-{number}/{path.name} <==")
                parts.extend(rundir.tail(path, num_lines))
        return "\n".join(parts) + ("\n" if parts else "")

    def services(self) -> list[str]:
        with self._lock:
            return sorted({s for (s, _) in self._revisions})

    def close(self) -> None:
        """Stop supervising; the replicas keep running (a new driver adopts them)."""
        self._closing.set()
        self._wake()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._pool.shutdown(wait=False, cancel_futures=True)

    def wait_ready(self, service: str, revision: int, timeout: float = 60.0) -> ObservedRevision:
        """Poll until the revision is ready; raise TimeoutError (with the cause) otherwise."""
        deadline = time.monotonic() + timeout
        while True:
            rev = self.observe(service, log_lines=0).revision(revision)
            if rev is not None and rev.ready:
                return rev
            if time.monotonic() > deadline:
                cause = rev.cause.to_error() if rev and rev.cause else "no cause reported"
                raise TimeoutError(f"{service} rev {revision} not ready after {timeout} s: {cause}")
            self.wait_change(0.5)

    def wait_change(self, timeout: float) -> None:
        """Wait for the next supervision pass or a replica's ready signal (at most ``timeout``)."""
        with self._changed:
            self._changed.wait(timeout)

    # --- helpers ----------------------------------------------------------------------------

    def _service_port(self, service: str) -> int | None:
        try:
            return int((rundir.service_dir(self.run_dir, service) / "port").read_text())
        except (OSError, ValueError):
            return None

    def _wait_gone(self, done: Callable[[], bool]) -> None:
        deadline = time.monotonic() + self.stop_grace + 10
        while time.monotonic() < deadline:
            with self._lock:
                if done():
                    return
            time.sleep(0.02)
        raise TimeoutError("replicas did not stop in time")

    def _adopt_revision(self, service: str, number: int, port: int, now: float) -> None:
        rev_dir = rundir.revision_dir(self.run_dir, service, number)
        data = rundir.read_json(rev_dir / "spec.json")
        if not data:
            return
        spec = ReplicaSetSpec.from_json(data)
        rev = Revision(spec, port, rev_dir, pending=False)
        rev.replicas = [
            Replica(spec, i, port, rev_dir, self.run_dir, self.cgroup_root)
            for i in range(spec.replicas)
        ]
        started = any(r.state_path.exists() for r in rev.replicas)
        alive = [r.load() for r in rev.replicas]
        rev.pending = not started
        if (rev_dir / "retired").exists():
            rev.retiring, rev.pending = True, False
            for r in rev.replicas:
                r.next_start, r.stop_deadline = math.inf, now + self.stop_grace
                r.signal(signal.SIGTERM)
        log.info("%s rev %d: adopted %d live replica(s) of %d", service, number, sum(alive),
                 spec.replicas)  # fmt: skip
        self._revisions[(service, number)] = rev
