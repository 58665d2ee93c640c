"""The local engine: a pool of worker processes fed one mini-batch at a time.

The driver owns every decision (what runs where, timeouts, retries, the error budget), so a worker
that hangs, raises or is killed mid-batch costs only that mini-batch's attempt: the driver kills or
notices it, starts a fresh worker and gives the mini-batch to whichever worker is free next.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from typing import Any

from modelport.errors import UserError
from modelport.parallel_run import worker as worker_module
from modelport.parallel_run.config import ParallelRunConfig
from modelport.parallel_run.journal import Entry, Journal
from modelport.parallel_run.plan import MiniBatch
from modelport.parallel_run.process import WorkerProcess

Progress = Callable[[int, int], None]
# mini-batches sent to a worker ahead of the one it runs: it starts the next one without waiting
# for the driver to hear of the last, so a busy driver (or a loaded machine) never idles a worker
PREFETCH = 1


class BatchFailed(UserError):
    """The run stopped: init() failed or failures passed the error threshold."""


@dataclass
class Summary:
    mini_batches: int = 0
    processed: int = 0
    succeeded: int = 0
    failed: int = 0
    retried: int = 0
    seconds: float = 0.0
    status: str = "Completed"
    error: str | None = None
    skipped: int = 0  # mini-batches already finished by an earlier attempt (--resume)
    engine: str = "local"  # which engine ran it: local or ray
    workers: int = 0
    startup_seconds: float = 0.0  # until the first worker was ready (imports and init())
    work_seconds: float = 0.0  # from then to the last mini-batch done (no start, no shutdown)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class _Worker:
    id: int
    process: Any  # local: the WorkerProcess; Ray: the actor handle
    conn: Any  # local: the driver's end of the socket; Ray: the ObjectRef of the pending call
    ready: bool = False
    batch: MiniBatch | None = None  # the mini-batch it runs now
    started: float = 0.0  # when it began that one (its timeout counts from here)
    queued: deque[MiniBatch] = field(default_factory=deque)  # sent, to run after ``batch``


@dataclass
class _State:
    pending: deque[MiniBatch]
    tries: dict[int, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)


class LocalEngine:
    """Runs a plan on ``process_count_per_node`` local processes, recording into a journal."""

    name = "local"

    def __init__(
        self, config: ParallelRunConfig, spec: worker_module.WorkerSpec, journal: Journal
    ) -> None:
        self.config = config
        self.spec = spec
        self.journal = journal
        self._next_id = 0
        self.workers: list[_Worker] = []
        self.first_ready: float | None = None  # time.monotonic() when a worker was first ready
        self.last_done: float | None = None  # ... when the last mini-batch was recorded

    def _start_worker(self) -> _Worker:
        process = WorkerProcess(self._next_id, self.spec)
        w = _Worker(self._next_id, process, process.conn)
        self._next_id += 1
        self.workers.append(w)
        return w

    def _retire(self, w: _Worker) -> None:
        w.process.kill()
        self.workers.remove(w)

    def run(self, plan: list[MiniBatch], summary: Summary, progress: Progress) -> None:
        done = set(self.journal.entries)
        state = _State(deque(b for b in plan if b.index not in done))
        total = len(plan)
        if not state.pending:
            return
        count = min(self.worker_count(), len(state.pending))
        for _ in range(count):
            self._start_worker()
        try:
            while state.pending or any(w.batch for w in self.workers):
                self._dispatch(state)
                self._step(state, summary)
                self._check_threshold(summary)
                progress(len(self.journal.entries), total)
        finally:
            self._shutdown()

    def worker_count(self) -> int:
        return self.config.process_count_per_node or 1

    def _shutdown(self) -> None:
        idle = [w for w in self.workers if w.batch is None and w.process.is_alive()]
        for w in idle:  # ask all first: they exit (atexit handlers, flushes) side by side
            w.process.ask_to_stop()
        deadline = time.monotonic() + 5.0
        for w in list(self.workers):
            if w in idle:
                w.process.wait_until(deadline)
            self._retire(w)

    def _dispatch(self, state: _State) -> None:
        for w in self.workers:
            while w.ready and state.pending and (w.batch is None or self._ahead(w, state)):
                batch = state.pending.popleft()
                if w.batch is None:
                    w.batch, w.started = batch, time.monotonic()
                else:
                    w.queued.append(batch)
                self._send(w, batch.to_json())

    def _ahead(self, w: _Worker, state: _State) -> bool:
        # not in the run's tail: a mini-batch queued behind a long one would wait while another
        # worker idles
        return len(w.queued) < PREFETCH and len(state.pending) >= len(self.workers)

    def _next(self, w: _Worker) -> None:
        """The worker finished its mini-batch and has begun the next one it was sent."""
        w.batch = w.queued.popleft() if w.queued else None
        w.started = time.monotonic()

    def _send(self, w: _Worker, message: dict[str, Any]) -> None:
        w.conn.send(message)

    def _step(self, state: _State, summary: Summary) -> None:
        timeout = float(self.config.run_invocation_timeout)
        now = time.monotonic()
        deadlines = [w.started + timeout - now for w in self.workers if w.batch is not None]
        wait_s = max(0.0, min(deadlines, default=1.0))
        by_handle: dict[Any, _Worker] = {}
        for w in self.workers:
            by_handle[w.conn] = w
            if w.process.sentinel >= 0:
                by_handle[w.process.sentinel] = w
        ready = wait(list(by_handle), timeout=wait_s)
        handled: set[int] = set()
        for handle in ready:
            w = by_handle[handle]
            if w.id in handled:
                continue
            handled.add(w.id)
            if w.conn.poll():
                try:
                    self._on_message(w, w.conn.recv(), state, summary)
                    continue
                except (EOFError, OSError):
                    pass
            if not w.process.is_alive() or handle == w.process.sentinel:
                self._replace(w, state, summary, f"worker {w.id} exited")
        now = time.monotonic()
        for w in list(self.workers):
            if w.batch is not None and now - w.started > timeout:
                self._replace(
                    w, state, summary, f"run() took longer than run_invocation_timeout={timeout:g}s"
                )

    def _on_message(
        self, w: _Worker, msg: tuple[Any, ...], state: _State, summary: Summary
    ) -> None:
        kind = msg[0]
        if kind == "ready":
            w.ready = True
            if self.first_ready is None:
                self.first_ready = time.monotonic()
        elif kind == "init_failed":
            raise BatchFailed(f"init() failed in worker {w.id}: {msg[1].strip().splitlines()[-1]}")
        elif kind == "done" and w.batch is not None:
            _, _, items, succeeded, part = msg
            tries = state.tries.get(w.batch.index, 0) + 1
            entry = Entry(w.batch.index, items, succeeded, max(0, items - succeeded), tries, part)
            self._finish(entry, summary)
            self._next(w)
        elif kind == "error" and w.batch is not None:
            batch = w.batch
            self._next(w)
            self._failure(batch, state, summary, msg[2])

    def _replace(self, w: _Worker, state: _State, summary: Summary, reason: str) -> None:
        batch = w.batch
        state.pending.extendleft(reversed(w.queued))  # never started: no try counted
        self._retire(w)
        self._start_worker()
        if batch is not None:
            self._failure(batch, state, summary, reason)

    def _failure(self, batch: MiniBatch, state: _State, summary: Summary, reason: str) -> None:
        tries = state.tries.get(batch.index, 0) + 1
        state.tries[batch.index] = tries
        if tries < self.config.run_max_try:
            summary.retried += 1
            state.pending.append(batch)  # to whichever worker is free next
            return
        items = batch.items or 1  # a table part that never ran: its rows are unknown
        self._finish(Entry(batch.index, items, 0, items, tries, None, reason), summary)

    def _finish(self, entry: Entry, summary: Summary) -> None:
        self.journal.record(entry)
        self.last_done = time.monotonic()
        summary.mini_batches += 1
        summary.processed += entry.items
        summary.succeeded += entry.succeeded
        summary.failed += entry.failed

    def _check_threshold(self, summary: Summary) -> None:
        threshold = self.config.error_threshold
        if threshold != -1 and summary.failed > threshold:
            raise BatchFailed(
                f"{summary.failed} failed items passed error_threshold={threshold}; "
                "the run stopped (see the worker logs)"
            )
