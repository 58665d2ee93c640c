"""The inference server's HTTP/1.1 protocol: httptools parsing, one ASGI call per request, one write
per answer.

uvicorn's protocol serves every kind of ASGI app (websockets, lifespans, many options); per request
it builds a cycle object, an ``asyncio.Event``, a task kept in a ``WeakSet``, a keep-alive timer,
and writes the head and the body separately. At 64 connections a bare ASGI app on it cost 47 µs
of CPU per request here, the same answer from a bare httptools protocol 8 to 11 µs; once run() is
batched that difference is most of a request's cost. This protocol keeps what the inference
server needs, in the same shape: keep-alive and pipelining, ``Expect: 100-continue``, chunked
request bodies with flow control, HEAD, ``Connection: close``, a JSON 400 for unparseable requests,
disconnect detection and the drain on SIGTERM (``ServerState.connections``/``tasks``, ``shutdown()``).

No connection state lasts without a deadline (deadlines.py), and an answer given before the whole
body arrived (401, 413, …) closes the connection after a short linger instead of draining the rest.
Each listener caps its connections (connguard.py). One request's ASGI receive/send and its answer's
bytes are cycle.py. Keep-alive answers given while other requests are in flight go out at the end
of the loop turn (``write_answer``); after the last answer the worker polls briefly (busypoll.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import unquote

import httptools

from modelport.serving.busypoll import BusyPoll
from modelport.serving.connguard import (
    FULL_MESSAGE,
    MAX_HEAD_BYTES,
    WAKE_BYTES,
    ConnectionPool,
    DeadlineSweep,
    json_answer,
)
from modelport.serving.cycle import BODY_HIGH_WATER, STATUS_LINES, Cycle
from modelport.serving.deadlines import Deadlines
from modelport.serving.responses import GENERIC_INTERNAL_ERROR, error_body

log = logging.getLogger("modelport.serving")

App = Callable[[dict[str, Any], Any, Any], Awaitable[None]]
# per request these were a decode and a new dict; the scope's "asgi" entry is read, never written
METHODS = {m.encode(): m for m in ("GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH")}
ASGI_VERSION = {"version": "3.0", "spec_version": "2.3"}
LINGER_SECONDS = 2.0


class ServerState(DeadlineSweep):
    """The worker's connections and request tasks (for the drain), and the deadline sweep."""

    connections: set[HttpProtocol]

    def __init__(self, keep_alive: float, body_timeout: float = 30.0) -> None:
        super().__init__()
        self.keep_alive = keep_alive
        self.body_timeout = body_timeout
        self.tasks: set[asyncio.Task[None]] = set()
        self.busy_poll: BusyPoll | None = None  # --busy-poll-us
        self.held: list[HttpProtocol] = []  # connections with answers held to the loop turn's end

    def release_held(self) -> None:
        held, self.held = self.held, []
        for conn in held:
            conn.flush_held()


class HttpProtocol(Deadlines, asyncio.Protocol):
    """One connection. ``parsing`` gets the parser's callbacks; ``active`` is being answered;
    its deadlines and its part in the connection cap are deadlines.py."""

    def __init__(
        self,
        app: App,
        state: ServerState,
        loop: asyncio.AbstractEventLoop,
        pool: ConnectionPool | None = None,
        allowed_hosts: frozenset[str] | None = None,
    ) -> None:
        self.app = app
        self.state = state
        self.loop = loop
        self.pool = pool
        self.allowed_hosts = allowed_hosts  # --allowed-hosts: the Host header must name one
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpRequestParser(self)
        self.parsing: Cycle | None = None
        self.active: Cycle | None = None
        self.pipeline: deque[Cycle] = deque()
        self.head_bytes = self.raw_head_bytes = 0
        self.paused = False
        self.closing = False
        self.lingering = False
        self.head_started: float | None = None  # while a request head is incomplete
        self.idle_since = self.progress = loop.time()  # progress: the last bytes received
        self.answered = False
        self.body_started = 0.0
        self.body_received = 0
        self.client: tuple[str, int] | None = None
        self.server: tuple[str, int] | None = None
        self.scheme = "http"
        self.held_out: list[bytes] = []

    # ------------------------------------------------------------------ connection
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is not a subclass
        peer = transport.get_extra_info("peername")
        sock = transport.get_extra_info("sockname")
        self.client = (str(peer[0]), int(peer[1])) if isinstance(peer, tuple) else None
        self.server = (str(sock[0]), int(sock[1])) if isinstance(sock, tuple) else None
        if transport.get_extra_info("sslcontext") is not None:
            self.scheme = "https"
        self.state.connections.add(self)
        self.state.start_sweeping(self.loop)
        if self.pool is not None and not self.pool.admit(self, self.loop.time()):
            self.pool = None
            log.warning("connection refused: %s", FULL_MESSAGE)
            self.write(json_answer(STATUS_LINES[503], FULL_MESSAGE))
            self.close_after_answer(client_sending=True)

    def connection_lost(self, exc: Exception | None) -> None:
        self.state.connections.discard(self)
        if self.pool is not None:
            self.pool.leave(self)
        for cycle in (self.active, self.parsing, *self.pipeline):
            if cycle is not None and not cycle.response_complete:
                cycle.disconnected = True
                cycle.wake()
        self.pipeline.clear()

    def data_received(self, data: bytes) -> None:
        if self.lingering:
            return  # answered and closing: the rest of what the client sends is dropped
        self.progress = self.loop.time()
        busy_poll = self.state.busy_poll
        if busy_poll is not None:
            busy_poll.arrived()
        if self.parsing is None or self.head_started is not None:
            # counted as it arrives: httptools buffers one header's value whole before on_header
            self.raw_head_bytes += len(data)
            if self.raw_head_bytes > MAX_HEAD_BYTES:
                self._refuse(431, f"Request line and headers exceed {MAX_HEAD_BYTES} bytes.")
                return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            # no protocol switching here: answer the request, then close
            if self.parsing is not None:
                self.parsing.keep_alive = False
        except httptools.HttpParserError as exc:
            if self.head_bytes > MAX_HEAD_BYTES:  # raised in on_header, wrapped by the parser
                self._refuse(431, f"Request line and headers exceed {MAX_HEAD_BYTES} bytes.")
            else:
                self._refuse(400, f"Invalid HTTP request received: {exc}")

    def _refuse(self, status: int, message: str) -> None:
        self.write(json_answer(STATUS_LINES[status], message))
        self.close_after_answer(client_sending=True)

    def close_after_answer(self, client_sending: bool = False) -> None:
        """Close; when the client may still be sending, half-close first and drop its data for a
        moment, so it reads the answer instead of a reset (closing on unread input sends RST)."""
        if self.held_out:
            self.flush_held()
        transport = self.transport
        sending = client_sending or self.parsing is not None
        if not sending or transport is None or not transport.can_write_eof():
            self.close()
            return
        self.lingering = True
        self.resume_reading()
        if not transport.is_closing():
            transport.write_eof()
            self.loop.call_later(LINGER_SECONDS, self.close)

    def write_answer(self, data: bytes) -> None:
        """A keep-alive answer while other requests are in flight: held until the end of this loop
        turn (never longer), so a client is woken once per batch of answers, not once for each."""
        state = self.state
        if len(state.tasks) <= 1:
            self.write(data)
            return
        if not self.held_out:
            if not state.held:
                self.loop.call_soon(state.release_held)
            state.held.append(self)
        self.held_out.append(data)

    def flush_held(self) -> None:
        out, self.held_out = self.held_out, []
        transport = self.transport
        if out and transport is not None and not transport.is_closing():
            transport.write(out[0] if len(out) == 1 else b"".join(out))

    def write(self, data: bytes) -> None:
        if self.held_out:
            self.flush_held()
        transport = self.transport
        if transport is not None and not transport.is_closing():
            transport.write(data)

    def close(self) -> None:
        if self.held_out:
            self.flush_held()
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    def pause_reading(self) -> None:
        if not self.paused and self.transport is not None:
            self.paused = True
            self.transport.pause_reading()

    def resume_reading(self) -> None:
        if self.paused and self.transport is not None:
            self.paused = False
            self.transport.resume_reading()

    def shutdown(self) -> None:
        """Drain: close now when idle, else right after the answer being written."""
        self.closing = True
        if self.active is None:
            self.close()

    # ------------------------------------------------------------------ parser callbacks
    def on_message_begin(self) -> None:
        self.parsing = Cycle(self)
        self.head_bytes = 0
        self.head_started = self.loop.time()

    def on_url(self, url: bytes) -> None:
        assert self.parsing is not None
        self.parsing.url += url
        self._count_head(len(url))

    def on_header(self, name: bytes, value: bytes) -> None:
        cycle = self.parsing
        assert cycle is not None
        name = name.lower()
        if name == b"expect" and value.lower() == b"100-continue":
            cycle.expect_100 = True
        cycle.headers.append((name, value))
        self.head_bytes += len(name) + len(value)  # _count_head, inlined: once per header
        if self.head_bytes > MAX_HEAD_BYTES:
            raise ValueError("request head too large")

    def _count_head(self, n: int) -> None:
        self.head_bytes += n
        if self.head_bytes > MAX_HEAD_BYTES:
            raise ValueError("request head too large")

    def on_headers_complete(self) -> None:
        cycle = self.parsing
        assert cycle is not None
        self.head_started = None
        self.raw_head_bytes = 0
        self.body_started = self.loop.time()
        self.body_received = 0
        parser = self.parser
        raw_method = parser.get_method()
        method = METHODS.get(raw_method) or raw_method.decode("ascii")
        target = cycle.url
        # origin-form without a query: what parse_url returns. find(), not ``in``: bytes ``in``
        # first tries the operand as an int and formats a TypeError (~2,000 instructions)
        if target[:1] == b"/" and target.find(b"?") < 0 and target.find(b"#") < 0:
            raw_path, query = target, b""
        else:
            url = httptools.parse_url(target)
            raw_path, query = url.path or b"/", url.query or b""
        path = raw_path.decode("ascii", "replace")
        if "%" in path:
            path = unquote(path)
        http_version = parser.get_http_version()
        cycle.method = method
        cycle.keep_alive = parser.should_keep_alive() and not self.closing
        cycle.scope = {
            "type": "http",
            "asgi": ASGI_VERSION,
            "http_version": http_version,
            "method": method,
            "scheme": self.scheme,
            "path": path,
            "raw_path": raw_path,
            "query_string": query,
            "root_path": "",
            "headers": cycle.headers,
            "client": self.client,
            "server": self.server,
        }
        if self.allowed_hosts is not None and not self._host_allowed(cycle.headers):
            self._refuse(421, "This service does not answer to that Host header (--allowed-hosts).")
            return
        if self.active is None:
            self._start(cycle)
        else:  # pipelined: answered in order, and no more reading until this one is
            self.pipeline.append(cycle)
            self.pause_reading()

    def _host_allowed(self, headers: list[tuple[bytes, bytes]]) -> bool:
        """DNS rebinding: a page of another site, resolved to this address, names its own host."""
        assert self.allowed_hosts is not None
        for name, value in headers:
            if name == b"host":
                host = value.decode("latin-1").strip().lower()
                if host.startswith("["):  # [v6]:port
                    host = host[1 : host.find("]")]
                elif host.count(":") == 1:
                    host = host.split(":", 1)[0]
                return host in self.allowed_hosts
        return False  # HTTP/1.1 requires a Host header

    def on_body(self, body: bytes) -> None:
        cycle = self.parsing
        if cycle is None or cycle.response_complete:
            return  # answered already (e.g. 413 before reading): the rest is dropped
        cycle.body.append(body)
        cycle.buffered += len(body)
        self.body_received += len(body)
        if cycle.buffered > BODY_HIGH_WATER:
            self.pause_reading()
        if cycle.buffered >= WAKE_BYTES:  # not per packet: a body trickled a byte at a time
            cycle.wake()  # would cost a task wake-up per byte (the rest wakes it on completion)

    def on_message_complete(self) -> None:
        cycle = self.parsing
        if cycle is None:
            return
        cycle.complete = True
        self.parsing = None
        cycle.wake()

    # ------------------------------------------------------------------ requests
    def _start(self, cycle: Cycle) -> None:
        self.active = cycle
        # the task leaves state.tasks at the end of _run rather than by a done callback, which
        # cost a call_soon, a Handle and one more loop turn per request
        cycle.task = task = self.loop.create_task(self._run(cycle))
        if not task.done():  # (an eager task factory would have run it to the end already)
            self.state.tasks.add(task)

    async def _run(self, cycle: Cycle) -> None:
        try:
            await self.app(cycle.scope, cycle.receive, cycle.send)
        except BaseException:
            log.exception("the inference server failed to answer a request")
            if cycle.head is None and not cycle.response_complete:
                body = error_body(GENERIC_INTERNAL_ERROR)
                cycle.keep_alive = False
                await cycle.send({"type": "http.response.start", "status": 500,
                                  "headers": [(b"content-type", b"application/json"),
                                              (b"content-length", b"%d" % len(body))]})  # fmt: skip
                await cycle.send({"type": "http.response.body", "body": body})
            else:
                self.close()
        else:
            if not cycle.response_complete:  # the app returned without a whole answer
                self.close()
        finally:
            if cycle.task is not None:
                self.state.tasks.discard(cycle.task)
                cycle.task = None

    def response_done(self, cycle: Cycle) -> None:
        self.active = None
        if not cycle.keep_alive or self.closing:
            self.close_after_answer()
            return
        self.idle_since = self.loop.time()
        self.answered = True
        if self.pipeline:
            self._start(self.pipeline.popleft())
            if not self.pipeline:
                self.resume_reading()
            return
        self.resume_reading()  # also lets the unread rest of a body answered early drain away
        busy_poll = self.state.busy_poll
        if busy_poll is not None and len(self.state.tasks) <= 1:  # this answer's task is the last
            busy_poll.answered()
