"""One HTTP request on the inference server's protocol and its answer: the ASGI ``receive`` (the
body as it arrives, ``Expect: 100-continue``, flow control) and ``send`` (the response head held
until the first body part so head and body go out in one write; chunked when no length is given).
The connection that parses requests and enforces deadlines is protocol.py. ``take_body`` and
``answer`` do the same without message dicts or awaits, for the app's routes on this protocol
(two coroutines and four dicts fewer per request).
"""

from __future__ import annotations

import asyncio
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from modelport.serving.protocol import HttpProtocol

BODY_HIGH_WATER = 256 * 1024  # unread request body buffered before reading pauses


def status_line(status: int) -> bytes:
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = ""
    return f"HTTP/1.1 {status} {phrase}\r\n".encode("latin-1")


STATUS_LINES = {s.value: status_line(s.value) for s in HTTPStatus}
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
CLOSE = (b"connection", b"close")
_FIELD = b": "


class Cycle:
    """One request and its answer."""

    __slots__ = (
        "body",
        "buffered",
        "chunked",
        "complete",
        "conn",
        "continue_sent",
        "disconnected",
        "expect_100",
        "head",
        "headers",
        "keep_alive",
        "method",
        "response_complete",
        "scope",
        "task",
        "url",
        "waiter",
    )

    def __init__(self, conn: HttpProtocol) -> None:
        self.conn = conn
        self.url = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.body: list[bytes] = []
        self.buffered = 0
        self.chunked = False  # the answer's body is sent chunked (no content-length given)
        self.complete = False
        self.disconnected = False
        self.expect_100 = False
        self.continue_sent = False
        self.keep_alive = True
        self.method = "GET"
        self.scope: dict[str, Any] = {}
        self.head: bytes | None = None  # the response head, held until the first body part
        self.response_complete = False
        self.waiter: asyncio.Future[None] | None = None
        self.task: asyncio.Task[None] | None = None  # the task answering it (protocol.py)

    def wake(self) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def receive(self) -> dict[str, Any]:
        conn = self.conn
        if self.disconnected or self.response_complete:
            return {"type": "http.disconnect"}
        if not self.body and not self.complete:
            if self.expect_100 and not self.continue_sent:
                self.continue_sent = True
                conn.write(CONTINUE)
            conn.resume_reading()
            self.waiter = conn.loop.create_future()
            await self.waiter
            self.waiter = None
            if self.disconnected:
                return {"type": "http.disconnect"}
        body = self.body[0] if len(self.body) == 1 else b"".join(self.body)
        self.body = []
        if self.buffered > BODY_HIGH_WATER:
            conn.resume_reading()
        self.buffered = 0
        return {"type": "http.request", "body": body, "more_body": not self.complete}

    def take_body(self) -> bytes | None:
        """The whole request body when it has all arrived, as ``receive`` would give it in one
        message; None when it has not (or the client left): then ``receive`` waits for it."""
        if not self.complete or self.disconnected or self.response_complete:
            return None
        body = self.body[0] if len(self.body) == 1 else b"".join(self.body)
        self.body = []
        if self.buffered > BODY_HIGH_WATER:
            self.conn.resume_reading()
        self.buffered = 0
        return body

    def answer(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        """A whole answer at once: what ``send`` does with a start and a last body message, for
        headers that give the content-length and name a connection only as ``connection: close``
        (the app's: routes.py). The head is joined in C, not scanned header by header."""
        if self.head is not None or self.response_complete:
            raise RuntimeError("http.response.start sent twice")
        self.head = b""
        if CLOSE in headers:
            self.keep_alive = False
            end = b"\r\n\r\n"
        elif not self.keep_alive or self.conn.closing or not self.complete:
            # answered before the whole body arrived (401, 413, …): close rather than drain it
            self.keep_alive = False
            end = b"\r\nconnection: close\r\n\r\n"
        else:
            end = b"\r\n\r\n"
        line = STATUS_LINES.get(status) or status_line(status)
        fields = b"\r\n".join(map(_FIELD.join, headers))
        data = b"".join((line, fields, end, b"" if self.method == "HEAD" else body))
        if self.keep_alive and not self.conn.closing:
            self.conn.write_answer(data)
        else:
            self.conn.write(data)
        self.response_complete = True
        self.conn.response_done(self)

    async def send(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            if self.head is not None or self.response_complete:
                raise RuntimeError("http.response.start sent twice")
            self.head = self._head(message["status"], message.get("headers", ()))
            return
        if kind != "http.response.body" or self.head is None or self.response_complete:
            raise RuntimeError(f"unexpected ASGI message {kind!r} at this point of the response")
        body = message.get("body", b"")
        more = message.get("more_body", False)
        if more and self.disconnected:  # a streamed answer learns that its client left
            raise ConnectionResetError("the client closed the connection")
        head, self.head = self.head, b""
        if self.method == "HEAD":
            body = b""
        elif self.chunked:
            body = (b"%x\r\n%b\r\n" % (len(body), body) if body else b"") + (
                b"" if more else b"0\r\n\r\n"
            )
        self.conn.write(head + body if head else body)
        if not more:
            self.response_complete = True
            self.conn.response_done(self)

    def _head(self, status: int, headers: Any) -> bytes:
        parts = [STATUS_LINES.get(status) or status_line(status)]
        has_length = closing = False
        for name, value in headers:
            size = len(name)  # lower-cased (a new bytes) only when it could be one of the two
            if size == 14 and name.lower() == b"content-length":
                has_length = True
            elif size == 10 and name.lower() == b"connection" and b"close" in value.lower():
                closing = True
            parts += (name, b": ", value, b"\r\n")
        if closing:
            self.keep_alive = False
        elif not self.keep_alive or self.conn.closing or not self.complete:
            # answered before the whole body arrived (401, 413, …): close rather than drain it
            self.keep_alive = False
            parts.append(b"connection: close\r\n")
        if not has_length and self.method != "HEAD" and status not in (204, 304):
            self.chunked = True
            parts.append(b"transfer-encoding: chunked\r\n")
        parts.append(b"\r\n")
        return b"".join(parts)
