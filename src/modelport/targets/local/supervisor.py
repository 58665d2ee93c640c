"""The local driver's supervision: one background thread that starts replicas, watches their
ready pipes, probes their health ports, restarts dead ones with an exponential backoff, types
their failures (causes.py) and finishes retirements. Mixed into LocalDriver (driver.py), which owns
the state declared below; every pass runs under its lock.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import shutil
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from modelport.targets.base import CrashedAtStart, FailureCause, OOMKilled, PortInUse
from modelport.targets.local import limits, liveness, procs, rundir
from modelport.targets.local.causes import classify
from modelport.targets.local.replica import Replica, probe
from modelport.targets.local.revision import Revision

log = logging.getLogger("modelport.targets.local")

# Seconds between readiness probes until a replica is first ready. A replica says "ready" on
# its ready pipe (replica.py) the moment it listens, so these probes are only the fallback for
# a runtime that does not (and they take the GIL from init()'s imports): not frequent.
READINESS_POLL = 0.25


class Supervisor:
    """The supervision half of LocalDriver."""

    backoff_base: float
    backoff_cap: float
    crash_loop_after: int
    crash_window: float
    tick: float
    _revisions: dict[tuple[str, int], Revision]
    _lock: threading.RLock
    _changed: threading.Condition
    _closing: threading.Event
    _wake_r: int
    _wake_w: int
    _thread: threading.Thread | None
    _pool: ThreadPoolExecutor

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


def _exit_reason(code: int | None, r: Replica) -> str:
    if r.kill_reason:
        return f"killed by the supervisor: {r.kill_reason}"
    return "killed by a signal" if code is not None and code < 0 else "restarting"
