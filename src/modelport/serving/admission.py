"""Admission control: at most N run() calls in flight, a bounded wait queue, then 503."""

from __future__ import annotations

import asyncio
from collections import deque

from modelport.serving.metrics import Metrics


class Overloaded(Exception):
    """No slot became free in time (or the queue is full): answer 503."""


class Admission:
    """A FIFO semaphore whose waiters give up after ``max_wait`` seconds."""

    def __init__(self, limit: int, max_wait: float, max_queue: int, metrics: Metrics) -> None:
        self.limit = limit
        self.free = limit
        self.max_wait = max_wait
        self.max_queue = max_queue
        self.metrics = metrics
        self._waiters: deque[asyncio.Future[None]] = deque()

    async def acquire(self) -> None:
        if self.free > 0 and not self._waiters:
            self.free -= 1
            return
        if len(self._waiters) >= self.max_queue:
            self.metrics.rejected["queue_full"] += 1
            raise Overloaded(f"The request queue is full ({self.max_queue} requests waiting).")
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        self._waiters.append(fut)
        self.metrics.queue_depth = len(self._waiters)
        timer = loop.call_later(self.max_wait, _expire, fut)
        try:
            await fut
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled() and fut.exception() is None:
                self.release()  # the slot was handed to us just as we were cancelled: pass it on
            raise
        except TimeoutError:
            self.metrics.rejected["queue_timeout"] += 1
            raise Overloaded(
                f"The request waited {round(self.max_wait * 1000)} ms for a free slot "
                f"({self.limit} concurrent requests allowed); try again later."
            ) from None
        finally:
            timer.cancel()
            if fut in self._waiters:
                self._waiters.remove(fut)
            self.metrics.queue_depth = len(self._waiters)

    async def acquire_unbounded(self) -> None:
        """Wait for a slot without a deadline (the batcher, which enforces waits per input)."""
        while self.free <= 0:
            loop = asyncio.get_running_loop()
            fut: asyncio.Future[None] = loop.create_future()
            self._waiters.append(fut)
            await fut
            return  # the slot was handed over by release()
        self.free -= 1

    def release(self) -> None:
        # hand the slot straight to the oldest live waiter, so newcomers cannot overtake it
        while self._waiters:
            fut = self._waiters.popleft()
            if not fut.done():
                fut.set_result(None)
                self.metrics.queue_depth = len(self._waiters)
                return
        self.free += 1


def _expire(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_exception(TimeoutError())
