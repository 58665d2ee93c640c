"""Adaptive busy-poll: after an answer, keep the event loop turning for a moment before it sleeps.

A CPU that sleeps between requests pays for it when the next one comes: on this project's
benchmark machine (a Firecracker VM: a sleeping vCPU halts, which exits to the host) the digits
script's own work took 118 µs in a tight loop and 140-150 µs when a sleep of 10 µs to 1 ms
separated the calls, cold caches and predictors; the wake-up itself costs more on top. Like
Linux's cpuidle-haltpoll (drivers/cpuidle/governors/haltpoll.c), the worker polls instead for up
to a budget after its last answer, one loop turn at a time (each an epoll with a zero timeout), and
adapts the budget to the idle periods it sees: an idle period longer than the budget but within
--busy-poll-us doubles it (from a starting value); one longer than --busy-poll-us halves it, so a
service whose requests come seconds apart stops polling after a few of them.
"""

from __future__ import annotations

import asyncio
import time

GROW_START = 50e-6  # the budget a grow starts from (haltpoll's guest_halt_poll_grow_start)
SHRINK_FLOOR = 10e-6  # a budget halved below this becomes 0: polling is off until a grow


class BusyPoll:
    """``answered()`` when the worker has nothing left to do, ``arrived()`` when bytes come in."""

    def __init__(self, loop: asyncio.AbstractEventLoop, max_seconds: float) -> None:
        self.loop = loop
        self.max = max_seconds
        self.budget = min(GROW_START, max_seconds)
        self.idle_since: float | None = None  # the last answer, while nothing has arrived since
        self.polling = False
        self.arrivals = 0
        self._seen = 0
        # counters for /metrics: idle periods polled through, polls that ended in sleep, and the
        # seconds spent polling (CPU that a request did not use: server CPU minus it is the work)
        self.caught = 0
        self.missed = 0
        self.polled_s = 0.0

    def answered(self) -> None:
        """The last request in flight was answered: idle from now, polling while the budget lasts."""
        self.idle_since = time.perf_counter()
        self._seen = self.arrivals
        if self.budget > 0 and not self.polling:
            self.polling = True
            self.loop.call_soon(self._poll)

    def arrived(self) -> None:
        self.arrivals += 1
        if self.idle_since is None:
            return
        idle = time.perf_counter() - self.idle_since
        self.idle_since = None
        if idle <= self.budget:
            self.caught += 1  # polled through: no sleep, no wake-up
            self.polled_s += idle
            return
        if idle <= self.max:
            self.budget = min(self.max, max(GROW_START, self.budget * 2))
        else:
            half = self.budget / 2
            self.budget = half if half >= SHRINK_FLOOR else 0.0

    def _poll(self) -> None:
        # one loop turn per call: a pending callback makes the loop's epoll return at once
        if self.arrivals != self._seen:
            self.polling = False  # bytes came in: the request's answer polls again
            return
        since = self.idle_since
        if since is not None:
            polled = time.perf_counter() - since
            if polled < self.budget:
                self.loop.call_soon(self._poll)
                return
            self.polled_s += polled
        self.polling = False
        self.missed += 1
