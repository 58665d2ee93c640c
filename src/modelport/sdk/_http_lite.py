"""A plain-HTTP transport over the standard library, for requests to a server on ``http://``.

Importing httpx costs ~60 ms of CPU (httpcore, h11, its URL and auth models, urllib.request and
http.cookiejar), which is a third of a short CLI call such as ``modelport model list`` against
the local server. :class:`LiteConnection` sends the same request that httpx would over
``http.client`` (~20 ms to import) and answers with a :class:`LiteResponse` that has the part of
``httpx.Response`` the SDK reads. :mod:`modelport.sdk._http` uses it only where httpx would add
nothing: a plain ``http://`` URL and no proxy variables in the environment (TLS, proxies and
streamed downloads stay with httpx). Transport failures are :class:`LiteConnectError` (nothing was
sent: the server is not there) and :class:`LiteTransportError`, read like httpx's.
"""

from __future__ import annotations

import http.client
import json as jsonlib
import os
import select
import socket
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

# what httpx reads (trust_env) to route a plain-HTTP request through a proxy
_PROXY_VARIABLES = ("http_proxy", "all_proxy")
# characters httpx leaves as they are in a path (the rest is percent-encoded)
_PATH_SAFE = "/%!$&'()*+,;=:@-._~"


def usable(url: str) -> bool:
    """Whether a request to ``url`` may take this transport: plain HTTP, and no proxy set."""
    if not url.startswith("http://"):
        return False
    return not any(value for name, value in os.environ.items() if name.lower() in _PROXY_VARIABLES)


class LiteTransportError(Exception):
    """The request or its answer failed on the way (reset, timeout, malformed answer)."""


class LiteConnectError(LiteTransportError):
    """The connection could not be opened: nothing was sent."""


class LiteResponse:
    """The part of ``httpx.Response`` that the SDK reads."""

    def __init__(
        self, status_code: int, reason_phrase: str, headers: Mapping[str, str], content: bytes
    ) -> None:
        self.status_code = status_code
        self.reason_phrase = reason_phrase
        self.headers = headers
        self.content = content

    @property
    def is_success(self) -> bool:
        return 200 <= self.status_code < 300

    @property
    def text(self) -> str:
        # as httpx: the charset the Content-Type names, else UTF-8
        charset = "utf-8"
        for part in self.headers.get("content-type", "").split(";")[1:]:
            key, _, value = part.strip().partition("=")
            if key.lower() == "charset" and value:
                charset = value.strip("\"'")
        try:
            return self.content.decode(charset, errors="replace")
        except LookupError:
            return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return jsonlib.loads(self.content)


class _Connection(http.client.HTTPConnection):
    """``timeout`` for connecting, ``read_timeout`` for every read and write after (httpx's
    ``Timeout(read, connect=...)``)."""

    def __init__(self, host: str, port: int | None, connect: float, read: float) -> None:
        super().__init__(host, port, timeout=connect)
        self.read_timeout = read

    def connect(self) -> None:
        super().connect()
        self.sock.settimeout(self.read_timeout)


class LiteConnection:
    """A keep-alive connection to ``base_url`` (a path prefix such as ``/api/v1`` included)."""

    def __init__(
        self, base_url: str, headers: Mapping[str, str], *, connect: float, read: float
    ) -> None:
        parts = urlsplit(base_url)
        self._prefix = parts.path.rstrip("/")
        self._headers = {
            "Host": parts.netloc,
            "Accept": "*/*",
            "Connection": "keep-alive",
            **headers,
        }
        self._conn = _Connection(parts.hostname or "", parts.port, connect, read)
        self._reused = False  # whether the last exchange went over a kept-alive connection

    def close(self) -> None:
        self._conn.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        content: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> LiteResponse:
        url = self._prefix + "/" + quote(path.lstrip("/"), safe=_PATH_SAFE + "?")
        if params:
            url += ("&" if "?" in url else "?") + _query(params)
        head = {**self._headers, **(headers or {})}
        body: Any = content
        if json is not None:
            # as httpx 0.28 encodes it: compact, UTF-8, no NaN
            body = jsonlib.dumps(
                json, ensure_ascii=False, separators=(",", ":"), allow_nan=False
            ).encode()
            head["Content-Type"] = "application/json"
        if isinstance(body, str):
            body = body.encode()
        if isinstance(body, bytes):
            head["Content-Length"] = str(len(body))
        elif body is None and method in ("POST", "PUT", "PATCH"):
            head["Content-Length"] = "0"
        replayable = body is None or isinstance(body, bytes)
        try:
            return self._exchange(method, url, head, body)
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as exc:
            # A kept-alive connection the server had closed: once more on a new one, if the
            # body can be sent again; a fresh connection failing is an answer in itself.
            if not replayable or not self._reused:
                raise LiteTransportError(_reason(exc)) from None
            self._conn.close()
            try:
                return self._exchange(method, url, head, body)
            except (OSError, http.client.HTTPException) as again:
                raise LiteTransportError(_reason(again)) from None
        except (OSError, http.client.HTTPException) as exc:
            raise LiteTransportError(_reason(exc)) from None

    def _exchange(self, method: str, url: str, head: dict[str, str], body: Any) -> LiteResponse:
        conn = self._conn
        if conn.sock is not None and _readable(conn.sock):
            conn.close()  # the server closed the idle connection (as httpcore checks before reuse)
        self._reused = conn.sock is not None
        if conn.sock is None:
            try:
                conn.connect()
            except OSError as exc:
                conn.close()
                raise LiteConnectError(_reason(exc)) from None
        # http.client sends an iterable body as given: Content-Length comes from the caller
        conn.request(method, url, body=body, headers=head, encode_chunked=False)
        answer = conn.getresponse()
        content = answer.read()
        headers = {key.lower(): value for key, value in answer.getheaders()}
        if answer.will_close:
            conn.close()
        return LiteResponse(answer.status, answer.reason, headers, content)


def _readable(sock: socket.socket) -> bool:
    """An idle kept-alive socket with something to read: the peer's close (or garbage)."""
    try:
        ready, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(ready)


def _query(params: Mapping[str, Any]) -> str:
    """The query string httpx builds: lists repeat the key, booleans are true/false."""
    pairs: list[tuple[str, str]] = []
    for key, value in params.items():
        values = value if isinstance(value, list | tuple) else [value]
        pairs.extend((str(key), _primitive(v)) for v in values)
    return urlencode(pairs)


def _primitive(value: Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return ""
    return str(value)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, socket.timeout | TimeoutError):
        return "timed out"
    return str(exc) or type(exc).__name__
