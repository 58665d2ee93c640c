"""The local target driver: replicas as supervised processes on this machine.

Replicas of a service share its port through SO_REUSEPORT (the kernel balances; no proxy). Each
replica also has a private health port, which the supervisor polls for readiness (200 once
init() finished) and liveness (any answer). A background thread restarts dead replicas with an
exponential backoff, types their failures, and finishes retirements. Replicas run in their own
session, so they outlive the workspace server; ``adopt()`` re-attaches to them from the run dir.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import select
import shutil
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from modelport.errors import Conflict
from modelport.targets.base import (
    CrashedAtStart,
    FailureCause,
    ObservedRevision,
    ObservedService,
    OOMKilled,
    PortInUse,
    ReplicaSetSpec,
)
from modelport.targets.local import isolation, limits, liveness, procs, rundir
from modelport.targets.local.causes import classify
from modelport.targets.local.host import enable_tcp_migrate_req, kill_strays
from modelport.targets.local.replica import Replica, free_port, probe
from modelport.targets.local.revision import Revision

log = logging.getLogger("modelport.targets.local")

# Seconds between readiness probes until a replica is first ready. A replica says "ready" on
# its ready pipe (replica.py) the moment it listens, so these probes are only the fallback for
# a runtime that does not (and they take the GIL from init()'s imports): not frequent.
READINESS_POLL = 0.25


class LocalDriver:
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

    # --- supervision ------------------------------------------------------------------------

    def _ensure_thread(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                if self._closing.is_set():  # used again after close()
                    self._pool = ThreadPoolExecutor(
                        max_workers=8, thread_name_prefix="modelport-probe"
                    )
                self._closing.clear()
                self._thread = threading.Thread(target=self._loop, name="modelport-local-driver",
                                                daemon=True)  # fmt: skip
                self._thread.start()

    def _loop(self) -> None:
        while not self._closing.is_set():
            with self._lock:
                waiting = {r.ready_fd: r for rev in self._revisions.values()
                           for r in rev.replicas if r.ready_fd is not None}  # fmt: skip
            try:
                readable, _, _ = select.select([self._wake_r, *waiting], [], [], self.tick)
            except OSError:  # a ready pipe closed meanwhile (the replica exited): next pass
                readable = []
            if self._wake_r in readable:
                with contextlib.suppress(BlockingIOError):
                    os.read(self._wake_r, 512)
            with self._lock:
                now = time.monotonic()
                for fd in readable:
                    r = waiting.get(fd)
                    if r is not None and r.ready_fd == fd:
                        self._on_ready_signal(r)
                for key, rev in list(self._revisions.items()):
                    try:
                        self._tick(key, rev, now)
                    except Exception:  # one broken revision must not stop the others
                        log.exception("%s rev %d: supervision error", *key)
                self._changed.notify_all()

    def _wake(self) -> None:
        with contextlib.suppress(BlockingIOError, OSError):
            os.write(self._wake_w, b"w")

    def _on_ready_signal(self, r: Replica) -> None:
        """The replica wrote to its ready pipe: init() finished and it listens (no probe needed)."""
        if r.read_ready_signal() and r.alive and not r.ready:
            log.info("%s rev %d replica %d ready (pid %s, told by the replica)", r.spec.service,
                     r.spec.revision, r.index, r.pid)  # fmt: skip
            r.ready = r.ever_ready = True
            r.cause = None
            # a probe sent before it was ready would answer 503 and undo this: drop its answer
            r.probe_future = None
            r.next_probe = time.monotonic() + r.spec.liveness.period_seconds
            r.save()

    def _tick(self, key: tuple[str, int], rev: Revision, now: float) -> None:
        if rev.retiring:
            self._tick_retiring(key, rev, now)
        elif rev.pending:
            if now >= rev.next_schedule:
                self._schedule(rev, now)
        else:
            for r in rev.replicas:
                self._tick_replica(rev, r, now)

    def _schedule(self, rev: Revision, now: float) -> None:
        spec = rev.spec
        cause: FailureCause | None = limits.check_schedulable(
            spec.cpu_cores, spec.memory_gb, spec.replicas
        )
        cause = cause or self._check_port(spec.service, rev.port)
        if cause is not None:
            if rev.cause != cause:
                log.warning("%s rev %d: %s", spec.service, spec.revision, cause.message)
            rev.cause, rev.next_schedule = cause, now + 1.0
            return
        rev.pending, rev.cause = False, None
        for r in rev.replicas:
            self._start(rev, r, 1, now)

    def _check_port(self, service: str, port: int) -> PortInUse | None:
        ours = {r.pid for (s, _), rev in self._revisions.items() if s == service
                for r in rev.replicas if r.pid}  # fmt: skip
        for pid in procs.port_listeners(port).values():
            info = procs.stat(pid) if pid is not None else None
            if pid in ours or (info is not None and info.pgid in ours):
                continue
            return PortInUse(f"port {port} is already in use by {procs.describe(pid)}")
        return None

    def _tick_replica(self, rev: Revision, r: Replica, now: float) -> None:
        if not r.alive:
            if now >= r.next_start:
                r.restarts += 1
                self._start(rev, r, r.restarts + 1, now)
            return
        exited, code = r.poll()
        if not exited:
            r.check_memory()
            exited, code = r.poll()
        if exited:
            self._on_exit(rev, r, code, now)
            return
        future = r.probe_future
        if future is not None:
            if not future.done():
                return
            r.probe_future = None
            liveness.on_probe(rev, r, future.result(), now)
        if now >= r.next_probe and r.health_port:
            live = rev.spec.liveness
            r.probe_future = self._pool.submit(probe, r.health_port, live.timeout_seconds)
            r.next_probe = now + (
                live.period_seconds if liveness.counting(rev, r, now) else READINESS_POLL
            )

    def _start(self, rev: Revision, r: Replica, attempt: int, now: float) -> None:
        try:
            r.start(attempt)
        except OSError as exc:  # no interpreter, no working dir, no room for the log …
            r.cause = CrashedAtStart(f"replica {r.index} could not be started: {exc}")
            r.mark_exited(None)
            r.crash_times = [*r.crash_times[-10:], now]
            r.next_start = now + min(self.backoff_cap, self.backoff_base * 2 ** len(r.crash_times))
            log.warning("%s rev %d: %s", rev.spec.service, rev.spec.revision, r.cause.message)

    def _on_exit(self, rev: Revision, r: Replica, code: int | None, now: float) -> None:
        r.kill_group_leftovers(r.pid)
        lines = rundir.since_last_start(rundir.tail(r.log_path, 300))
        r.crash_times = [t for t in r.crash_times if now - t < self.crash_window] + [now]
        cause = classify(code, lines, replica=r.index, ever_ready=r.ever_ready,
                         recent_crashes=len(r.crash_times), crash_loop_after=self.crash_loop_after,
                         killed_by_probe=r.killed_by_probe, killed=r.kill_reason)  # fmt: skip
        oom = r.exited_out_of_memory()
        if oom is not None:
            cause = OOMKilled(oom, cause.details if cause else tuple(lines[-20:]))
        if cause is not None and cause.code == "PortInUse":
            # the server names the shared port even when its private health port was the one
            # taken (a race on a free port): only a foreign listener on the shared port counts
            # (a socket bound without listening is invisible in /proc: repeated failures still count)
            foreign = self._check_port(rev.spec.service, rev.port)
            if foreign is not None:
                cause = PortInUse(foreign.message, cause.details)
            elif len(r.crash_times) < self.crash_loop_after:
                cause = None
        r.cause = cause
        r.mark_exited(code)
        delay = min(self.backoff_cap, self.backoff_base * 2 ** max(0, len(r.crash_times) - 1))
        r.next_start = now + delay
        r.note(
            f"exited (code {code}): {cause.message if cause else _exit_reason(code, r)}; "
            f"restart in {delay:.1f} s"
        )
        log.warning("%s rev %d replica %d exited (code %s): %s; restart in %.1f s",
                    rev.spec.service, rev.spec.revision, r.index, code,
                    cause.message if cause else "restarting", delay)  # fmt: skip

    def _tick_retiring(self, key: tuple[str, int], rev: Revision, now: float) -> None:
        for r in rev.replicas:
            if not r.alive:
                continue
            exited, code = r.poll()
            if exited:
                r.kill_group_leftovers(r.pid)
                r.mark_exited(code)
            elif r.stop_deadline is not None and now >= r.stop_deadline:
                r.signal(signal.SIGKILL, group=True)
        if not any(r.alive for r in rev.replicas):
            del self._revisions[key]
            shutil.rmtree(rev.dir, ignore_errors=True)
            log.info("%s rev %d: stopped", *key)

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


def _exit_reason(code: int | None, r: Replica) -> str:
    if r.kill_reason:
        return f"killed by the supervisor: {r.kill_reason}"
    return "killed by a signal" if code is not None and code < 0 else "restarting"
