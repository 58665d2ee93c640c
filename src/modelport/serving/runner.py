"""Calling run(): async on the loop, plain functions on a bounded pool of threads, with the timeout.

The run() slot taken by admission control is given back when the call has really ended: a thread
that outlives its timeout keeps its slot until run() returns, so the limit stays honest.
The threads take work from one ``queue.SimpleQueue`` and answer with ``call_soon_threadsafe``:
half the cost of ``run_in_executor`` (profiling showed the executor's futures on the hot path).
"""

from __future__ import annotations

import asyncio
import inspect
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from modelport.serving.logs import REQUEST_ID

Done = Callable[[bool, Any, float], None]


class ScoringTimeout(Exception):
    def __init__(self, timeout_ms: int) -> None:
        super().__init__(f"Scoring timeout after {timeout_ms} ms")


class RunThreads:
    """Daemon threads calling run(); a hung run() cannot keep the process alive at exit."""

    def __init__(self, n: int, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.queue: queue.SimpleQueue[
            tuple[str, Callable[..., Any], tuple[Any, ...], dict[str, Any], Done] | None
        ] = queue.SimpleQueue()
        self.threads = [
            threading.Thread(target=self._work, name=f"run-{i}", daemon=True) for i in range(n)
        ]
        for t in self.threads:
            t.start()

    def submit(
        self,
        rid: str,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        done: Done,
    ) -> None:
        self.queue.put((rid, fn, args, kwargs, done))

    def _work(self) -> None:
        get = self.queue.get
        call_soon = self.loop.call_soon_threadsafe
        perf = time.perf_counter
        while True:
            item = get()
            if item is None:
                return
            rid, fn, args, kwargs, done = item
            token = REQUEST_ID.set(rid)
            t0 = perf()
            try:
                result = fn(*args, **kwargs)
                ok = True
            except (
                BaseException
            ) as exc:  # the script's failure is the request's, never the thread's
                result, ok = exc, False
            finally:
                REQUEST_ID.reset(token)
            try:
                call_soon(done, ok, result, perf() - t0)
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
    ) -> None:
        self.fn = fn
        self.is_async = is_async
        self.n_threads = threads
        self.threads: RunThreads | None = None
        self.timeout_ms = timeout_ms
        self.timeout = timeout_ms / 1000.0
        self.release = release
        self.on_run_time = on_run_time

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

        self.threads.submit(rid, self.fn, args, kwargs, done)
        timer = loop.call_later(self.timeout, _expire, waiter, self.timeout_ms)
        try:
            return await waiter
        finally:
            timer.cancel()

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
        self, ok: bool, result: Any, seconds: float, waiter: asyncio.Future[tuple[Any, float]]
    ) -> None:
        self.release()
        if ok:
            self.on_run_time(seconds)
            if not waiter.done():
                waiter.set_result((result, seconds))
        elif not waiter.done():
            # SystemExit & co. from a script must not escape into the server
            waiter.set_exception(
                result if isinstance(result, Exception) else RuntimeError(repr(result))
            )

    def shutdown(self) -> None:
        if self.threads is not None:
            self.threads.shutdown()
