"""Calling run(): async on the loop, plain functions on a bounded thread pool, with the scoring timeout.

The run() slot taken by admission control is given back when the call has really ended: a thread
that outlives its timeout keeps its slot until run() returns, so the limit stays honest.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from modelport.serving.logs import REQUEST_ID


class ScoringTimeout(Exception):
    def __init__(self, timeout_ms: int) -> None:
        super().__init__(f"Scoring timeout after {timeout_ms} ms")


def _call_in_thread(
    rid: str, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[Any, float]:
    token = REQUEST_ID.set(rid)
    t0 = time.perf_counter()
    try:
        return fn(*args, **kwargs), time.perf_counter() - t0
    finally:
        REQUEST_ID.reset(token)


async def _call_async(
    rid: str, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[Any, float]:
    REQUEST_ID.set(rid)  # the task runs in its own context copy
    t0 = time.perf_counter()
    result = fn(*args, **kwargs)
    if inspect.isawaitable(result):
        result = await result
    return result, time.perf_counter() - t0


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
        self.executor = None if is_async else ThreadPoolExecutor(threads, thread_name_prefix="run")
        self.timeout_ms = timeout_ms
        self.timeout = timeout_ms / 1000.0
        self.release = release
        self.on_run_time = on_run_time

    async def invoke(
        self, rid: str, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[Any, float]:
        """(result, seconds in run()); the caller holds a slot, which this gives back."""
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[tuple[Any, float]] = loop.create_future()
        task: asyncio.Task[tuple[Any, float]] | None = None
        if self.executor is None:
            task = loop.create_task(_call_async(rid, self.fn, args, kwargs))
            task.add_done_callback(lambda t: self._done(t, waiter))
        else:
            cf = self.executor.submit(_call_in_thread, rid, self.fn, args, kwargs)
            cf.add_done_callback(lambda f: loop.call_soon_threadsafe(self._done, f, waiter))
        timer = loop.call_later(self.timeout, _expire, waiter, self.timeout_ms)
        try:
            return await waiter
        except ScoringTimeout:
            if task is not None:
                task.cancel()
            raise
        finally:
            timer.cancel()

    def _done(
        self,
        fut: Future[tuple[Any, float]] | asyncio.Task[tuple[Any, float]],
        waiter: asyncio.Future[tuple[Any, float]],
    ) -> None:
        self.release()
        if fut.cancelled():
            if not waiter.done():
                waiter.cancel()
            return
        exc = fut.exception()
        if exc is None:
            result = fut.result()
            self.on_run_time(result[1])
            if not waiter.done():
                waiter.set_result(result)
        elif not waiter.done():
            # SystemExit & co. from a script must not escape into the server
            waiter.set_exception(exc if isinstance(exc, Exception) else RuntimeError(repr(exc)))

    def shutdown(self) -> None:
        if self.executor is not None:
            self.executor.shutdown(wait=False, cancel_futures=True)
