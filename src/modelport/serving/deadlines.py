"""The deadline and connection-cap half of the inference server's connection (protocol.py).

No connection state lasts without a deadline (checked by one sweep a second, connguard.py's
DeadlineSweep, not a timer each): a request head must arrive within --keep-alive seconds (else
408), an idle keep-alive connection closes after --keep-alive seconds, a request body must keep
arriving (--body-timeout, else 408). At a listener's connection cap (connguard.py) a connection
says how bad a candidate for eviction it is (``eviction_rank``) and leaves when picked (``evict``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from modelport.serving.connguard import (
    HEAD,
    IDLE,
    LINGERING,
    SLOW_BODY,
    ConnectionPool,
    Rank,
    body_evictable,
    body_stalled,
    json_answer,
)
from modelport.serving.cycle import STATUS_LINES, Cycle

if TYPE_CHECKING:
    from modelport.serving.protocol import ServerState


class Deadlines:
    """Mixed into HttpProtocol, which owns the state below and the methods declared last."""

    state: ServerState
    pool: ConnectionPool | None
    active: Cycle | None
    parsing: Cycle | None
    lingering: bool
    head_started: float | None  # while a request head is incomplete
    idle_since: float  # when it opened, until its first answer
    answered: bool  # at least one request answered: a client that is using the connection
    progress: float  # the last bytes received
    body_started: float
    body_received: int

    def _body_pending(self) -> bool:
        """A request is being answered while its body has not all arrived."""
        active = self.active
        return active is not None and self.parsing is active and not active.complete

    def enforce_deadlines(self, now: float) -> None:
        if self.lingering:
            return  # closes on its own timer
        deadline = now - self.state.keep_alive
        if self._body_pending():
            if body_stalled(now, self.body_started, self.progress, self.body_received,
                            self.state.body_timeout):  # fmt: skip
                self._drop_request("The request body did not arrive in time.")
        elif self.active is not None:
            return
        elif self.head_started is not None:  # a request line and headers still trickling in
            if self.head_started < deadline:
                self._refuse(408, "The request line and headers did not arrive in time.")
        elif self.idle_since < deadline and self.progress < deadline:
            self.close()

    def _drop_request(self, message: str) -> None:
        """408 for a request whose body stopped arriving; its handler sees a disconnect."""
        cycle = self.active
        if cycle is not None:
            cycle.disconnected = True
            cycle.wake()
            if cycle.head is not None or cycle.response_complete:
                self.close()  # an answer is under way: a 408 cannot follow it
                return
        self._refuse(408, message)

    def eviction_rank(self, now: float) -> Rank | None:
        if self.lingering:
            return (LINGERING, 0.0)
        if self._body_pending():
            if body_evictable(now, self.body_started, self.progress, self.body_received):
                return (SLOW_BODY, self.body_started)
            return None
        if self.active is not None:
            return None
        if self.head_started is not None:
            return (HEAD, self.head_started)
        if not self.answered:  # has sent nothing yet: a request head not begun, since it opened
            return (HEAD, self.idle_since)
        return (IDLE, max(self.idle_since, self.progress))

    def evict(self) -> None:
        self.pool = None
        if self.lingering:
            self.close()
            return
        if self._body_pending() or self.head_started is not None:
            self.write(
                json_answer(STATUS_LINES[408], "Too slow: the server needed the connection.")
            )
            cycle = self.active
            if cycle is not None:
                cycle.disconnected = True
                cycle.wake()
        self.close()

    # HttpProtocol's
    def _refuse(self, status: int, message: str) -> None:
        raise NotImplementedError

    def write(self, data: bytes) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError
