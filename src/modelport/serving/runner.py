"""Calling run(): async on the loop, plain functions on a bounded pool of threads, with the timeout.

A slot is given back when the call has really ended: a thread that outlives its timeout keeps
its slot until run() returns, so the limit stays honest.
The threads take work from one ``queue.SimpleQueue`` and answer with ``call_soon_threadsafe``:
half the cost of ``run_in_executor`` (profiling showed the executor's futures on the hot path).

A plain run() that has proven short (inline_gate.py) is called on the loop itself while no
other call is in progress: the hand-off to a thread and back (future, timer, two wake-ups, one
more loop turn) cost about 90 µs of CPU per request here, a quarter of a sub-millisecond model's
request.
"""

from __future__ import annotations

import asyncio
import inspect
import queue
import threading
import time
from asyncio.events import _set_running_loop
from collections.abc import Callable
from resource import RUSAGE_THREAD, getrusage
from time import perf_counter
from typing import Any

from modelport.serving.admission import Admission, Overloaded
from modelport.serving.busy import BOARD as BUSY
from modelport.serving.inline_gate import InlineGate, preempted
from modelport.serving.logs import REQUEST_ID, log

Done = Callable[[bool, Any, float], None]


class ScoringTimeout(Exception):
    def __init__(self, timeout_ms: int) -> None:
        super().__init__(f"Scoring timeout after {timeout_ms} ms")


def call_script(
    rid: str, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[bool, Any]:
    """(ok, result or exception) of one call with its request id set, on a thread or the loop.

    The script's failure (SystemExit & co. included) is the request's, never the caller's.
    """
    token = REQUEST_ID.set(rid)
    slot = BUSY.enter()  # the supervisor tells "busy in run()" from "hung" (serving/busy.py)
    try:
        return True, fn(*args, **kwargs)
    except BaseException as exc:
        return False, exc
    finally:
        BUSY.leave(slot)
        REQUEST_ID.reset(token)


def as_exception(failure: BaseException) -> Exception:
    """What a failed call raises in the request: SystemExit & co. must not escape into the server."""
    return failure if isinstance(failure, Exception) else RuntimeError(repr(failure))


class Job:
    """One run() call waiting in (or taken from) the threads' queue.

    ``token`` is popped exactly once, by whoever comes first: the thread that starts the call, or
    the loop giving up after the queue wait (list.pop is atomic under the GIL).
    """

    __slots__ = ("args", "done", "fn", "kwargs", "rid", "t0", "timer", "token")

    def __init__(
        self,
        rid: str,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        done: Done,
    ) -> None:
        self.rid, self.fn, self.args, self.kwargs, self.done = rid, fn, args, kwargs, done
        self.token = [True]
        self.t0 = 0.0
        self.timer: asyncio.TimerHandle | None = None


class RunThreads:
    """Daemon threads calling run(); a hung run() cannot keep the process alive at exit.

    Waiting requests queue here, not on the event loop: a busy thread takes the next call
    without a round trip through the loop, so under load there are no thread switches between
    calls (profiling showed the loop/thread ping-pong as the cost that grows on a busy host).
    """

    def __init__(self, n: int, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.queue: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self.threads = [
            threading.Thread(target=self._work, name=f"run-{i}", daemon=True) for i in range(n)
        ]
        for t in self.threads:
            t.start()

    def submit(self, job: Job) -> None:
        self.queue.put(job)

    def _work(self) -> None:
        get = self.queue.get
        call_soon = self.loop.call_soon_threadsafe
        perf = time.perf_counter
        while True:
            job = get()
            if job is None:
                return
            job.t0 = perf()
            try:
                job.token.pop()
            except IndexError:
                continue  # the request stopped waiting (503) before a thread was free
            ok, result = call_script(job.rid, job.fn, job.args, job.kwargs)
            try:
                call_soon(job.done, ok, result, perf() - job.t0)
            except RuntimeError:  # loop closed while draining
                return

    def shutdown(self) -> None:
        for _ in self.threads:
            self.queue.put(None)


def _expire(waiter: asyncio.Future[Any], timeout_ms: int) -> None:
    if not waiter.done():
        waiter.set_exception(ScoringTimeout(timeout_ms))


class Runner:
    def __init__(
        self,
        fn: Callable[..., Any],
        is_async: bool,
        threads: int,
        timeout_ms: int,
        release: Callable[[], None],
        on_run_time: Callable[[float], None],
        inline_budget_ms: float = 0.0,
    ) -> None:
        self.fn = fn
        self.is_async = is_async
        self.n_threads = threads
        self.threads: RunThreads | None = None
        self.timeout_ms = timeout_ms
        self.timeout = timeout_ms / 1000.0
        BUSY.set_timeout(self.timeout)
        self.release = release
        self.on_run_time = on_run_time
        self.outstanding = 0  # invoke_queued calls submitted and not finished (or given up)
        # a call on the loop cannot be answered 504 at its deadline: keep it far from the timeout
        self.gate = InlineGate(min(inline_budget_ms / 1000.0, self.timeout / 10))

    async def invoke(
        self, rid: str, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[Any, float]:
        """(result, seconds in run()); the caller holds a slot, which this gives back."""
        if self.is_async:
            return await self._invoke_async(rid, args, kwargs)
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[tuple[Any, float]] = loop.create_future()
        if self.threads is None:
            self.threads = RunThreads(self.n_threads, loop)

        def done(ok: bool, result: Any, seconds: float) -> None:
            self._finish(ok, result, seconds, waiter)

        self.threads.submit(Job(rid, self.fn, args, kwargs, done))
        timer = loop.call_later(self.timeout, _expire, waiter, self.timeout_ms)
        try:
            return await waiter
        finally:
            timer.cancel()

    async def invoke_queued(
        self, rid: str, kwargs: dict[str, Any], admission: Admission
    ) -> tuple[Any, float]:
        """A plain run() under admission control: the threads are the slots, the queue is theirs.

        503 when the queue already holds ``max_queue`` calls or none of the threads takes the call
        within ``max_wait``; 504 when the call runs longer than the scoring timeout (the thread
        stays busy, so the limit stays honest).
        """
        if self.inline_ready():
            return self.invoke_inline(rid, kwargs)
        loop = asyncio.get_running_loop()
        if self.threads is None:
            self.threads = RunThreads(self.n_threads, loop)
        metrics = admission.metrics
        gate = self.gate
        if self.outstanding - self.n_threads >= admission.max_queue:
            metrics.rejected["queue_full"] += 1
            raise Overloaded(f"The request queue is full ({admission.max_queue} requests waiting).")
        waiter: asyncio.Future[tuple[Any, float]] = loop.create_future()

        def done(ok: bool, result: Any, seconds: float) -> None:
            self.outstanding -= 1
            gate.observe(seconds)
            metrics.queue_depth = max(0, self.outstanding - self.n_threads)
            if job.timer is not None:
                job.timer.cancel()
            self._finish(ok, result, seconds, waiter, release=False)

        job = Job(rid, self.fn, (), kwargs, done)
        self.outstanding += 1
        metrics.queue_depth = max(0, self.outstanding - self.n_threads)
        self.threads.submit(job)
        submitted = time.perf_counter()
        job.timer = loop.call_later(
            min(admission.max_wait, self.timeout), self._watch, job, waiter, submitted, admission
        )
        try:
            return await waiter
        finally:
            if job.timer is not None:
                job.timer.cancel()

    def inline_ready(self) -> bool:
        """A plain run() may be called on the loop now: no other call in progress, the gate open
        (``InlineGate.open``, inlined: a property is one more frame per request)."""
        gate = self.gate
        return self.outstanding == 0 and gate.streak >= gate.needed and gate.budget > 0

    def invoke_inline(self, rid: str, kwargs: dict[str, Any]) -> tuple[Any, float]:
        """run() on the loop thread, nothing else running (``inline_ready``): a plain call."""
        gate = self.gate
        gate.loop_calls += 1
        # the gate opened after calls on the threads, which know the loop: asking asyncio for it
        # is a getpid() syscall per request (its fork check)
        assert self.threads is not None
        loop = self.threads.loop
        # call_script, inlined (a frame and a tuple per request): same marks, same catch-all
        token = REQUEST_ID.set(rid)
        slot = BUSY.enter()
        # hidden, so run() may call asyncio.run() as it could on a thread
        _set_running_loop(None)
        before = getrusage(RUSAGE_THREAD)  # ~0.5 µs; read again only when the call overran
        t0 = perf_counter()
        try:
            result = self.fn(**kwargs)
            ok = True
        except BaseException as exc:
            result, ok = exc, False
        seconds = perf_counter() - t0
        _set_running_loop(loop)
        BUSY.leave(slot)
        REQUEST_ID.reset(token)
        if seconds <= gate.budget:
            gate.short_on_loop()
        elif preempted(before, gate.budget):
            gate.preempted += 1  # the host's stall, not run()'s: no penalty
        elif gate.overran(seconds):
            log.warning(
                "%s,run() took %.1f ms on the event loop (budget %g ms); later calls go to a thread "
                "until %d in a row are short again",
                rid, seconds * 1000, gate.budget * 1000, gate.needed,
            )  # fmt: skip
        if seconds > self.timeout:
            raise ScoringTimeout(self.timeout_ms)
        if not ok:
            raise as_exception(result)
        self.on_run_time(seconds)
        return result, seconds

    def _watch(
        self,
        job: Job,
        waiter: asyncio.Future[tuple[Any, float]],
        submitted: float,
        admission: Admission,
    ) -> None:
        """Timer: give up waiting for a thread (503), or time the running call out (504)."""
        if waiter.done():
            return
        loop = asyncio.get_running_loop()
        now = time.perf_counter()
        if job.token:
            waited = now - submitted
            if waited < admission.max_wait:
                job.timer = loop.call_later(
                    min(admission.max_wait - waited, self.timeout),
                    self._watch,
                    job,
                    waiter,
                    submitted,
                    admission,
                )
                return
            try:
                job.token.pop()
            except IndexError:
                pass  # a thread took it this very moment: it is running now
            else:
                self.outstanding -= 1
                admission.metrics.queue_depth = max(0, self.outstanding - self.n_threads)
                admission.metrics.rejected["queue_timeout"] += 1
                waiter.set_exception(Overloaded(
                    f"The request waited {round(admission.max_wait * 1000)} ms for a free slot "
                    f"({self.n_threads} concurrent requests allowed); try again later."
                ))  # fmt: skip
                return
        remaining = job.t0 + self.timeout - now
        if remaining <= 0:
            _expire(waiter, self.timeout_ms)
        else:
            job.timer = loop.call_later(remaining, self._watch, job, waiter, submitted, admission)

    async def _invoke_async(
        self, rid: str, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[Any, float]:
        """Awaited in the request's own task (no extra task); the timeout cancels it, freeing the slot."""
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None
        expired: list[bool] = []

        def expire() -> None:
            expired.append(True)
            task.cancel()

        timer = loop.call_later(self.timeout, expire)
        token = REQUEST_ID.set(rid)
        t0 = time.perf_counter()
        try:
            result = self.fn(*args, **kwargs)
            if inspect.isawaitable(result):
                result = await result
        except asyncio.CancelledError:
            if expired and task.uncancel() == 0:
                raise ScoringTimeout(self.timeout_ms) from None
            raise
        finally:
            timer.cancel()
            self.release()
            REQUEST_ID.reset(token)
        seconds = time.perf_counter() - t0
        self.on_run_time(seconds)
        return result, seconds

    def _finish(
        self,
        ok: bool,
        result: Any,
        seconds: float,
        waiter: asyncio.Future[tuple[Any, float]],
        release: bool = True,
    ) -> None:
        if release:
            self.release()
        if ok:
            self.on_run_time(seconds)
            if not waiter.done():
                waiter.set_result((result, seconds))
        elif not waiter.done():
            waiter.set_exception(as_exception(result))

    def shutdown(self) -> None:
        if self.threads is not None:
            self.threads.shutdown()
