"""Adaptive batching: ``@modelport.batch`` gathers concurrent requests into one run() call.

The batcher releases a batch when it is full (``full``), when ``max_latency_ms`` has passed since
its first input (``timeout``), or as soon as no more input arrived while the event loop took one
more turn (``idle``): a lone request is not held back waiting for company, while under load the
inputs that queue up during one call form the next batch.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from modelport.serving.admission import Overloaded

F = TypeVar("F", bound=Callable[..., Any])

BATCH_ATTR = "__modelport_batch__"
log = logging.getLogger("modelport.serving")


def batch(max_batch_size: int = 32, max_latency_ms: float = 5) -> Callable[[F], F]:
    """Make run() take a list of inputs and return a list of outputs of the same length."""
    if max_batch_size < 1:
        raise ValueError("max_batch_size must be at least 1")
    if max_latency_ms < 0:
        raise ValueError("max_latency_ms must not be negative")

    def decorate(func: F) -> F:
        setattr(func, BATCH_ATTR, (int(max_batch_size), float(max_latency_ms) / 1000.0))
        return func

    return decorate


class BatchError(Exception):
    """The batched run() broke its contract (e.g. returned a list of the wrong length)."""


class _Item:
    __slots__ = ("enqueued", "future", "rid", "value")

    def __init__(self, value: Any, rid: str, future: asyncio.Future[Any]) -> None:
        self.value = value
        self.rid = rid
        self.future = future
        self.enqueued = time.perf_counter()


class Batcher:
    """One queue and one loop task.

    ``acquire`` waits for a run() slot; ``call(inputs, rids)`` runs the user's function on a batch (returning its outputs and the
    seconds it took) and
    gives the slot back (``release``) when the call has really ended.
    """

    def __init__(
        self,
        max_size: int,
        max_latency: float,
        call: Callable[[list[Any], list[str]], Awaitable[tuple[Any, float]]],
        acquire: Callable[[], Awaitable[None]],
        release: Callable[[], None],
        max_queue: int,
        max_wait: float,
        on_batch: Callable[[int, str], None],
    ) -> None:
        self.max_size = max_size
        self.max_latency = max_latency
        self.call = call
        self.acquire = acquire
        self.release = release
        self.max_queue = max_queue
        self.max_wait = max_wait
        self.on_batch = on_batch
        self.queue: deque[_Item] = deque()
        self._wakeup: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._wakeup = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._loop())

    async def submit(self, value: Any, rid: str) -> Any:
        """Queue one input; wait for its own output."""
        if len(self.queue) >= self.max_queue:
            raise Overloaded(f"The request queue is full ({self.max_queue} requests waiting).")
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.queue.append(_Item(value, rid, fut))
        assert self._wakeup is not None
        self._wakeup.set()
        return await fut

    async def _loop(self) -> None:
        assert self._wakeup is not None
        while True:
            if not self.queue:
                self._wakeup.clear()
                await self._wakeup.wait()
            await self.acquire()  # a free run() slot first: inputs gather while we wait
            first = self.queue[0].enqueued if self.queue else time.perf_counter()
            reason = await self._gather(first)
            items = self._take()
            if not items:
                self.release()
                continue
            self.on_batch(len(items), reason)
            log.debug("batch of %d released (%s)", len(items), reason)
            asyncio.get_running_loop().create_task(self._run(items))

    async def _gather(self, first: float) -> str:
        deadline = first + self.max_latency
        seen = -1
        while True:
            n = len(self.queue)
            if n >= self.max_size:
                return "full"
            if time.perf_counter() >= deadline:
                return "timeout"
            if n == seen:
                return "idle"
            seen = n
            await asyncio.sleep(0)

    def _take(self) -> list[_Item]:
        now = time.perf_counter()
        items: list[_Item] = []
        while self.queue and len(items) < self.max_size:
            item = self.queue.popleft()
            if item.future.done():
                continue
            if now - item.enqueued > self.max_wait:
                item.future.set_exception(
                    Overloaded(
                        f"The request waited more than {round(self.max_wait * 1000)} ms for a batch slot."
                    )
                )
                continue
            items.append(item)
        return items

    async def _run(self, items: list[_Item]) -> None:
        try:
            outputs, exec_s = await self.call([i.value for i in items], [i.rid for i in items])
            if not isinstance(outputs, list | tuple) or len(outputs) != len(items):
                got = (
                    f"{len(outputs)} outputs"
                    if isinstance(outputs, list | tuple)
                    else type(outputs).__name__
                )
                raise BatchError(
                    f"The batched run() returned {got} for a batch of {len(items)} inputs; it must return a list "
                    "with one output per input, in order."
                )
        except BaseException as exc:
            for i in items:
                if not i.future.done():
                    i.future.set_exception(
                        exc if isinstance(exc, Exception) else RuntimeError(str(exc))
                    )
            return
        for i, out in zip(items, outputs, strict=True):
            if not i.future.done():
                i.future.set_result((out, exec_s))
