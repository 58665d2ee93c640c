"""Liveness of a local replica: probe answers, and "busy inside run()" told apart from "hung".

A probe that gets no answer counts as a failure only when the replica is not inside run()
(``modelport.serving.busy``): a run() that holds the GIL or the event loop for less than the
scoring timeout is busy, not hung. Every kill is noted in the replica's log with its reason.
"""

from __future__ import annotations

import logging

from modelport.serving import busy
from modelport.targets.local.replica import PROBE_SKIPPED, Replica
from modelport.targets.local.revision import Revision

log = logging.getLogger("modelport.targets.local")


def counting(rev: Revision, r: Replica, now: float) -> bool:
    """Liveness failures count once the replica was ready, or after a set initial delay."""
    delay = rev.spec.liveness.initial_delay_seconds
    return r.ever_ready or (delay > 0 and now - r.started_mono >= delay)


def on_probe(rev: Revision, r: Replica, status: int | None, now: float) -> None:
    live = rev.spec.liveness
    if status == PROBE_SKIPPED:
        log.warning("%s rev %d replica %d: probe skipped: this server is short of file "
                    "descriptors or ports (not counted against the replica)", rev.spec.service,
                    rev.spec.revision, r.index)  # fmt: skip
        return
    if status == 200 and not r.ever_ready:
        log.info("%s rev %d replica %d ready (pid %s)", rev.spec.service, rev.spec.revision,
                 r.index, r.pid)  # fmt: skip
        r.ever_ready, r.cause = True, None
        r.save()  # a server adopting it after a restart starts from "ready"
    if status is not None:
        r.ready, r.busy = status == 200, False
        if counting(rev, r, now):
            r.live_successes += 1
            if r.live_successes >= live.success_threshold:
                r.live_failures = 0
        return
    r.busy = _busy_in_run(rev, r)
    if r.busy:
        return  # busy inside run() under the scoring timeout: alive and still ready
    r.ready = False
    if not counting(rev, r, now):
        return
    r.live_failures, r.live_successes = r.live_failures + 1, 0
    if r.live_failures >= live.failure_threshold:
        reason = (f"liveness probe failed {r.live_failures} times (no answer within "
                  f"{live.timeout_seconds:g} s) and it is not inside run()")  # fmt: skip
        _kill(rev, r, reason)


def _busy_in_run(rev: Revision, r: Replica) -> bool:
    """A replica that does not answer because it is inside run() is busy, not hung, until
    run() has taken longer than the scoring timeout (plus the probe's own allowance)."""
    board = busy.read(r.busy_path)
    if board is None or board.since is None:
        r.busy_noted = False
        return False
    live = rev.spec.liveness
    running = board.running_for()
    allowance = board.timeout + live.period_seconds * live.failure_threshold
    if running <= allowance:
        if not r.busy_noted:
            r.busy_noted = True
            r.note(f"busy inside run() for {running:.1f} s: not answering its health port, "
                   f"not restarted before the scoring timeout ({board.timeout:g} s)")  # fmt: skip
        r.live_failures = 0
        return True
    reason = (f"run() has been running for {running:.0f} s, over the scoring timeout "
              f"({board.timeout:g} s), and the replica does not answer")  # fmt: skip
    _kill(rev, r, reason)
    return True


def _kill(rev: Revision, r: Replica, reason: str) -> None:
    log.warning("%s rev %d replica %d: %s; killing pid %s", rev.spec.service, rev.spec.revision,
                r.index, reason, r.pid)  # fmt: skip
    r.killed_by_probe = True
    r.kill(reason)
