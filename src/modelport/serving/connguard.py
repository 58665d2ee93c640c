"""A cap on a listener's open connections, shared by the inference server's and the workspace
server's HTTP protocols.

A server whose open-file limit is reached can no longer accept anything: not a legitimate client,
not a liveness probe, not its own log file. So each listener keeps its connections under a cap
(set below ``RLIMIT_NOFILE``). At the cap, a new connection first pushes out another one, chosen
by what it is doing, worst first: an answer lingering or a body answered early still draining,
then the oldest request head still incomplete (a connection that has sent nothing since it opened
counts as one), then the oldest request body arriving slower than ``MIN_BODY_RATE``, and only then
the keep-alive connection idle longest — one that has been answered, a client using it, whose next
request may already be on its way. Ages count from when a head or body began, which trickling
bytes cannot renew. Only when every connection is busy being answered is the newcomer refused
with 503. So a flood of held connections costs an attacker its own connections, not others'.
"""

from __future__ import annotations

import asyncio
import resource
from typing import Any, Protocol

import orjson

# File descriptors kept free for everything else a process opens (logs, models, threads' pipes,
# the probe of a sibling, a health port).
FD_RESERVE = 64
# A stalled body (no byte for this long) or one slower than MIN_BODY_RATE may be pushed out.
STALL_SECONDS = 1.0
MIN_BODY_RATE = 1024  # bytes per second, averaged since the head
MAX_HEAD_BYTES = 1024 * 1024  # request line and headers; more is refused with 431
WAKE_BYTES = 16 * 1024  # body buffered before the handler waiting for it is woken
SWEEP_SECONDS = 1.0


# Eviction order: a lower rank goes first, then the older of two.
LINGERING, HEAD, SLOW_BODY, IDLE = range(4)
Rank = tuple[int, float]


class Guarded(Protocol):
    def eviction_rank(self, now: float) -> Rank | None:
        """(LINGERING/HEAD/SLOW_BODY/IDLE, since when), or None while it is being served."""

    def evict(self) -> None:
        """Close now (answering 408 first when a request is partly received)."""


def effective_cap(wanted: int) -> int:
    """``wanted``, lowered to what the process's open-file limit leaves room for."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return wanted
    room = soft - FD_RESERVE if soft > 2 * FD_RESERVE else soft // 2
    return max(1, min(wanted, room))


class ConnectionPool:
    """The counted connections of one listener."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.members: set[Guarded] = set()
        self.evicted = 0
        self.refused = 0

    def admit(self, conn: Guarded, now: float) -> bool:
        """Count ``conn`` in, making room by evicting the worst connections; False when full.
        Room is made for a batch (a sixteenth of the cap) at once: under a flood the scan of
        every connection is paid once per batch of newcomers, not once for each."""
        if len(self.members) >= self.limit:
            ranked = []
            for other in self.members:
                rank = other.eviction_rank(now)
                if rank is not None:
                    ranked.append((rank, id(other), other))
            if not ranked:
                self.refused += 1
                return False
            ranked.sort(key=lambda item: (item[0], item[1]))
            for rank, _, victim in ranked[: max(1, self.limit // 16)]:
                if rank[0] == IDLE and victim is not ranked[0][2]:
                    break  # idle keep-alive connections only go one at a time
                self.members.discard(victim)
                self.evicted += 1
                victim.evict()
        self.members.add(conn)
        return True

    def leave(self, conn: Guarded) -> None:
        self.members.discard(conn)


def body_stalled(now: float, started: float, last: float, received: int, timeout: float) -> bool:
    """A request body that sent nothing for ``timeout`` s, or averaged under MIN_BODY_RATE past it."""
    if now - last > timeout:
        return True
    elapsed = now - started
    return elapsed > timeout and received < MIN_BODY_RATE * elapsed


def body_evictable(now: float, started: float, last: float, received: int) -> bool:
    return body_stalled(now, started, last, received, STALL_SECONDS)


def json_answer(status_line: bytes, message: str) -> bytes:
    """A whole ``{"message"}`` answer that closes the connection (written by protocols directly)."""
    body = orjson.dumps({"message": message})
    return (
        status_line
        + b"content-type: application/json\r\ncontent-length: %d\r\nconnection: close\r\n\r\n"
        % len(body)
        + body
    )


FULL_MESSAGE = "The server has too many open connections; retry shortly (every connection is busy)."


class DeadlineSweep:
    """A listener's connections and the one sweep a second that checks their deadlines (a timer
    per connection would cost a timer handle per request)."""

    def __init__(self) -> None:
        self.connections: set[Any] = set()  # each has enforce_deadlines(now)
        self._sweeper: asyncio.TimerHandle | None = None

    def start_sweeping(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._sweeper is None:
            self._sweeper = loop.call_later(SWEEP_SECONDS, self._sweep, loop)

    def _sweep(self, loop: asyncio.AbstractEventLoop) -> None:
        now = loop.time()
        for conn in list(self.connections):
            conn.enforce_deadlines(now)
        self._sweeper = loop.call_later(SWEEP_SECONDS, self._sweep, loop)
