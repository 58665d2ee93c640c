"""The workspace server's HTTP protocol: uvicorn's httptools one, with deadlines on every connection
state, a cap on connections and on request heads, and JSON error answers. (The inference server
has a leaner protocol of its own: serving/protocol.py; both share connguard.py.)

uvicorn alone holds a connection that never sends a byte, or sends its head or body a byte at a
time, forever, accepts until the process runs out of file descriptors, and buffers request heads
without bound. Here, checked by one sweep a second:

- a request head must be complete within ``timeout_keep_alive`` seconds of its first byte (408),
  and is at most ``MAX_HEAD_BYTES`` (431);
- a request body must keep arriving (``body_timeout``; 408);
- a connection with no request in progress closes ``timeout_keep_alive`` seconds after it opened or
  last answered, even while the client trickles the unread rest of a body answered early (401);
- at ``max_connections`` another connection is closed to make room (a draining body, a silent or
  trickling head or a trickling body first, an idle keep-alive one last; connguard.py); when every
  one is busy the newcomer gets 503.

Requests that cannot be parsed never reach the app: uvicorn answers them with a ``text/plain`` 400,
turned into ``{"message": …}`` here like every other modelport error.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from uvicorn.protocols.http.flow_control import HIGH_WATER_LIMIT
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from modelport.serving.connguard import (
    FULL_MESSAGE,
    HEAD,
    IDLE,
    LINGERING,
    MAX_HEAD_BYTES,
    SLOW_BODY,
    WAKE_BYTES,
    ConnectionPool,
    DeadlineSweep,
    Rank,
    body_evictable,
    body_stalled,
    effective_cap,
    json_answer,
)

log = logging.getLogger("modelport.server")


class _Guard(DeadlineSweep):
    """The state shared by one server's connections: the cap and the deadline sweep."""

    connections: set[GuardedHttpToolsProtocol]

    def __init__(self, max_connections: int, body_timeout: float) -> None:
        super().__init__()
        self.pool = ConnectionPool(effective_cap(max_connections))
        self.body_timeout = body_timeout


class JsonErrorHttpToolsProtocol(HttpToolsProtocol):
    head_bytes = 0

    def send_400_response(self, msg: str) -> None:
        if self.head_bytes > MAX_HEAD_BYTES:
            status, msg = 431, f"Request line and headers exceed {MAX_HEAD_BYTES} bytes."
        else:
            status = 400
        self.transport.write(json_answer(STATUS_LINE[status], msg))
        self.transport.close()


class GuardedHttpToolsProtocol(JsonErrorHttpToolsProtocol):
    guard: _Guard  # set on the class by guarded_protocol()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.progress = self.idle_since = self.loop.time()
        self.head_started: float | None = None
        self.in_body = False
        self.body_started = 0.0
        self.body_received = 0
        self.counted = False
        self.answered = False  # until then idle_since is when it opened

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        guard = self.guard
        guard.start_sweeping(self.loop)
        guard.connections.add(self)
        if not guard.pool.admit(self, self.loop.time()):
            log.warning("connection refused: %s", FULL_MESSAGE)
            transport.write(json_answer(STATUS_LINE[503], FULL_MESSAGE))
            transport.close()
            return
        self.counted = True

    def connection_lost(self, exc: Exception | None) -> None:
        self.guard.connections.discard(self)
        if self.counted:
            self.guard.pool.leave(self)
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self.progress = self.loop.time()
        if not self.in_body:  # counted here: httptools buffers one header's value whole
            self.head_bytes += len(data)
            if self.head_bytes > MAX_HEAD_BYTES:
                self.send_400_response("")
                return
        super().data_received(data)

    def on_message_begin(self) -> None:
        self.head_started = self.loop.time()
        super().on_message_begin()

    def on_headers_complete(self) -> None:
        self.head_started = None
        self.head_bytes = 0
        self.in_body = True
        self.body_started = self.loop.time()
        self.body_received = 0
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        """uvicorn's, but the handler is woken per WAKE_BYTES, not per packet: a body trickled a
        byte at a time cost a pass through the middleware stack per byte."""
        self.body_received += len(body)
        cycle = self.cycle
        if cycle.response_complete or (self.parser.should_upgrade() and self._should_upgrade()):
            return
        cycle.body += body
        if len(cycle.body) > HIGH_WATER_LIMIT:
            self.flow.pause_reading()
        if len(cycle.body) >= WAKE_BYTES:  # below HIGH_WATER_LIMIT, where reading pauses
            cycle.message_event.set()

    def on_message_complete(self) -> None:
        self.in_body = False
        super().on_message_complete()

    def on_response_complete(self) -> None:
        self.idle_since = self.loop.time()
        self.answered = True
        super().on_response_complete()

    # ------------------------------------------------------------------ deadlines and the cap
    def _serving(self) -> bool:
        return self.cycle is not None and not self.cycle.response_complete

    def _body_pending(self) -> bool:
        return self._serving() and self.cycle.more_body

    def enforce_deadlines(self, now: float) -> None:
        if self.transport.is_closing():
            return
        deadline = now - self.timeout_keep_alive
        if self._body_pending():
            if body_stalled(now, self.body_started, self.progress, self.body_received,
                            self.guard.body_timeout):  # fmt: skip
                self._drop(408, "The request body did not arrive in time.")
        elif self._serving():
            return
        elif self.head_started is not None:
            if self.head_started < deadline:
                self._drop(408, "The request line and headers did not arrive in time.")
        elif self.idle_since < deadline:
            self.transport.close()

    def _drop(self, status: int, message: str) -> None:
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            cycle.disconnected = True  # the handler's next receive() is a disconnect
            cycle.message_event.set()
            if cycle.response_started:
                self.transport.close()
                return
        self.transport.write(json_answer(STATUS_LINE[status], message))
        self.transport.close()

    def eviction_rank(self, now: float) -> Rank | None:
        if self._body_pending():
            if body_evictable(now, self.body_started, self.progress, self.body_received):
                return (SLOW_BODY, self.body_started)
            return None
        if self._serving():
            return None
        if self.head_started is not None:
            return (HEAD, self.head_started)
        if self.in_body:
            return (LINGERING, 0.0)  # answered early (401): the rest of its body is only drained
        if not self.answered:  # has sent nothing yet: a request head not begun, since it opened
            return (HEAD, self.idle_since)
        return (IDLE, max(self.idle_since, self.progress))

    def evict(self) -> None:
        self.counted = False
        if self._body_pending() or self.head_started is not None:
            self._drop(408, "Too slow: the server needed the connection.")
        else:
            self.transport.close()


def guarded_protocol(max_connections: int, body_timeout: float) -> type[GuardedHttpToolsProtocol]:
    """A protocol class for one server, with its own connection cap and deadlines."""
    guard = _Guard(max_connections, body_timeout)
    log.info("at most %d connections at once", guard.pool.limit)
    return type("ServerHttpProtocol", (GuardedHttpToolsProtocol,), {"guard": guard})
