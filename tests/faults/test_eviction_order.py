"""Which connection goes when a listener is at its connection cap (connguard.py): a client that has
been answered and keeps its connection open is pushed out last, after connections that have sent
nothing yet and after a body answered early that is only being drained. Each test holds the
cap full with raw sockets, so the order is checked exactly, not under a random flood.

(The flood campaign in test_floods.py once lost a legitimate request here: freshly accepted attack
connections ranked as idle and newer than the client's, so the client's keep-alive connection was
closed with its next request already in flight.)"""

from __future__ import annotations

import select
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ServerProcess
from tests.faults.flood_support import serve_limited
from tests.security.support import start_server_with_env

SCRIPT = "def init():\n    pass\n\ndef run(raw):\n    return {'echo': raw}\n"
CAP = 3
SCORE = b'POST /score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n{"x":1}'
LIST = b"GET /api/v1/workspaces HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n"


def _connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=10)


def _answer(s: socket.socket) -> bytes:
    """One whole answer (head and Content-Length body); b"" when the server closed instead."""
    data = b""
    while b"\r\n\r\n" not in data:
        try:
            chunk = s.recv(65536)
        except ConnectionResetError:
            return b""
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
    while len(body) < length:
        chunk = s.recv(65536)
        if not chunk:
            break
        body += chunk
    return data


def _assert_answered(s: socket.socket, ask: bytes) -> None:
    s.sendall(ask)
    assert _answer(s).startswith(b"HTTP/1.1 200")


def _first_closed(socks: list[socket.socket], deadline_s: float = 10.0) -> socket.socket:
    """The first of ``socks`` the server closes (polled with a deadline)."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        readable, _, _ = select.select(socks, [], [], 0.2)
        for s in readable:
            try:
                data = s.recv(65536, socket.MSG_PEEK)
            except ConnectionResetError:
                return s
            if not data or b"408" in data[:12]:
                return s
    raise AssertionError("the server closed no connection at its cap")


def _fill_with_silent(port: int, count: int) -> list[socket.socket]:
    return [_connect(port) for _ in range(count)]


@pytest.fixture
def replica(tmp_path: Path) -> Iterator[int]:
    served, _ = serve_limited(tmp_path, SCRIPT, 1024, "--max-connections", str(CAP))
    try:
        yield served.port
    finally:
        served.stop()


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[ServerProcess]:
    s = start_server_with_env(tmp_path / "home", {"MODELPORT_MAX_CONNECTIONS": str(CAP)})
    try:
        yield s
    finally:
        s.stop()


def _served(server: str, request: pytest.FixtureRequest) -> tuple[int, bytes, bytes]:
    """The port, a request answered 200, and the head of a request answered before its body."""
    if server == "replica":
        early = b"POST /no-such-route HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n{"
        return request.getfixturevalue("replica"), SCORE, early
    ws: ServerProcess = request.getfixturevalue("workspace")
    early = b"POST /api/v1/workspaces HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n{"
    return int(ws.url.rsplit(":", 1)[1]), LIST % ws.token.encode(), early


@pytest.mark.parametrize("server", ["replica", "workspace"])
def test_a_client_answered_before_outlasts_connections_that_sent_nothing(
    server: str, request: pytest.FixtureRequest
) -> None:
    port, ask, _ = _served(server, request)
    client = _connect(port)
    _assert_answered(client, ask)
    time.sleep(0.02)  # not to wait for anything: ages must differ, and the loop's clock counts ms
    silent = _fill_with_silent(port, CAP)  # one more than the cap leaves room for
    pushed_out = _first_closed([client, *silent])
    assert pushed_out is not client, "the answered client's keep-alive connection was pushed out"
    assert pushed_out in silent  # (accepted in one loop turn, they are equally old)
    _assert_answered(client, ask)  # the same connection, still open
    for s in [client, *silent]:
        s.close()


@pytest.mark.parametrize("server", ["replica", "workspace"])
def test_a_body_answered_early_and_still_draining_goes_before_an_idle_client(
    server: str, request: pytest.FixtureRequest
) -> None:
    port, ask, early = _served(server, request)
    client = _connect(port)
    _assert_answered(client, ask)
    draining = _connect(port)
    draining.sendall(early)
    # answered before its body; the replica then closes (lingering), the workspace server drains
    assert _answer(draining)[9:12] in (b"404", b"401")
    draining.sendall(b" " * 10)  # the rest keeps trickling in: newer bytes than the client's
    filler = _fill_with_silent(port, CAP - 1)  # the last one finds the cap full
    pushed_out = _first_closed([client, draining, *filler])
    assert pushed_out is draining
    _assert_answered(client, ask)  # the same connection, still open
    for s in [client, draining, *filler]:
        s.close()
