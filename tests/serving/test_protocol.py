"""The inference server's own HTTP/1.1 protocol, spoken to over raw sockets: pipelining, chunked
bodies, flow control, keep-alive rules, oversize heads, garbage, clients that vanish."""

from __future__ import annotations

import json
import re
import select
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.serving.conftest import Served, start_server

ECHO = """
def init():
    pass


def run(raw):
    return {"len": len(raw), "start": raw[:12]}
"""


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    s = start_server(tmp_path_factory.mktemp("protocol"), ECHO, env={"MODELPORT_KEEP_ALIVE": "1"})
    yield s
    s.stop()


def connect(served: Served) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", served.port), timeout=10)
    return sock


def post(body: bytes, extra: bytes = b"", version: bytes = b"1.1") -> bytes:
    return (
        b"POST /score HTTP/%b\r\nhost: x\r\ncontent-type: application/json\r\n"
        b"content-length: %d\r\n%b\r\n%b" % (version, len(body), extra, body)
    )


class Reader:
    """Reads whole HTTP answers (content-length framed) off one socket."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""

    def answer(self) -> tuple[int, dict[str, str], bytes]:
        while b"\r\n\r\n" not in self.buffer:
            self._more()
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:])}
        length = int(headers.get("content-length", "0"))
        while len(self.buffer) < length:
            self._more()
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return status, headers, body

    def closed(self) -> bool:
        try:
            return self.sock.recv(1) == b""
        except (ConnectionResetError, TimeoutError):
            return False

    def _more(self) -> None:
        chunk = self.sock.recv(65536)
        assert chunk, f"connection closed; had {self.buffer!r}"
        self.buffer += chunk


def test_pipelined_requests_are_answered_in_order(served: Served) -> None:
    with connect(served) as sock:
        sock.sendall(b"".join(post(f'"request {i}"'.encode()) for i in range(5)))
        reader = Reader(sock)
        starts = [json.loads(reader.answer()[2])["start"] for _ in range(5)]
    assert starts == [f'"request {i}"'[:12] for i in range(5)]


def test_answers_to_many_connections_at_once_keep_their_order_and_endings(
    served: Served,
) -> None:
    """Eight connections with ten pipelined requests each, the last asking to close: answers
    given while others are ready to run are held to the end of the loop turn (protocol.py
    write_answer); each connection still gets its ten in order, then its close."""
    socks = [connect(served) for _ in range(8)]
    try:
        for n, sock in enumerate(socks):
            requests = [post(f'"c{n} r{i}"'.encode()) for i in range(9)]
            requests.append(post(f'"c{n} r9"'.encode(), extra=b"connection: close\r\n"))
            sock.sendall(b"".join(requests))
        for n, sock in enumerate(socks):
            reader = Reader(sock)
            answers = [reader.answer() for _ in range(10)]
            assert [json.loads(body)["start"] for _, _, body in answers] == [
                f'"c{n} r{i}"'[:12] for i in range(10)
            ]
            assert {status for status, _, _ in answers} == {200}
            assert answers[-1][1]["connection"] == "close"
            assert reader.closed()
    finally:
        for sock in socks:
            sock.close()


def test_an_answer_held_for_a_busy_turn_reaches_a_waiting_client(served: Served) -> None:
    """While other connections keep requests ready, a lone keep-alive request's answer is held
    to the end of the loop turn, never longer: it arrives and the connection stays usable."""
    busy = [connect(served) for _ in range(6)]
    try:
        for sock in busy:
            sock.sendall(b"".join(post(b'"busy"') for _ in range(30)))
        with connect(served) as lone:
            reader = Reader(lone)
            for i in range(3):
                lone.sendall(post(f'"lone {i}"'.encode()))
                status, headers, body = reader.answer()
                assert status == 200 and "connection" not in headers
                assert json.loads(body)["start"] == f'"lone {i}"'
        for sock in busy:
            reader = Reader(sock)
            assert [reader.answer()[0] for _ in range(30)] == [200] * 30
    finally:
        for sock in busy:
            sock.close()


def test_a_chunked_body_reaches_run_whole(served: Served) -> None:
    with connect(served) as sock:
        sock.sendall(
            b"POST /score HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n5\r\n[1, 2\r\n"
        )
        time.sleep(0.1)
        sock.sendall(b"4\r\n, 3]\r\n0\r\n\r\n")
        status, _, body = Reader(sock).answer()
    assert status == 200
    assert json.loads(body) == {"len": 9, "start": "[1, 2, 3]"}


def test_a_large_body_sent_slowly_arrives_whole(served: Served) -> None:
    """Over the buffering high-water mark: reading pauses and resumes as run() consumes it."""
    payload = b'"' + b"x" * (3 * 1024 * 1024) + b'"'
    with connect(served) as sock:
        sock.sendall(post(payload)[: -len(payload)])
        for i in range(0, len(payload), 256 * 1024):
            sock.sendall(payload[i : i + 256 * 1024])
            time.sleep(0.01)
        status, _, body = Reader(sock).answer()
    assert status == 200 and json.loads(body)["len"] == len(payload)


def test_http_1_0_and_connection_close_end_the_connection(served: Served) -> None:
    for request in (post(b"1", version=b"1.0"), post(b"1", extra=b"connection: close\r\n")):
        with connect(served) as sock:
            sock.sendall(request)
            reader = Reader(sock)
            status, headers, _ = reader.answer()
            assert status == 200 and headers["connection"] == "close"
            assert reader.closed()


def test_keep_alive_serves_many_requests_then_times_out_when_idle(served: Served) -> None:
    with connect(served) as sock:
        reader = Reader(sock)
        for i in range(20):
            sock.sendall(post(str(i).encode()))
            assert reader.answer()[0] == 200
        started = time.monotonic()
        assert reader.closed()  # MODELPORT_KEEP_ALIVE=1: closed by the once-a-second sweep
        assert time.monotonic() - started < 5


def test_a_request_head_that_trickles_in_gets_408(served: Served) -> None:
    with connect(served) as sock:
        sock.sendall(b"POST /score HTTP/1.1\r\nhost: x\r\n")
        started = time.monotonic()
        reader = Reader(sock)
        for _ in range(8):  # a header line now and then, never the blank line that ends them
            if select.select([sock], [], [], 0.5)[0]:
                break  # the answer is there: sending more would only earn a reset
            sock.sendall(b"x-slow: 1\r\n")
        status, headers, body = reader.answer()
        assert status == 408 and headers["connection"] == "close"
        assert "did not arrive in time" in json.loads(body)["message"]
        assert time.monotonic() - started < 5  # MODELPORT_KEEP_ALIVE=1, swept once a second
        assert reader.closed()


def test_head_request_gets_headers_only(served: Served) -> None:
    with connect(served) as sock:
        sock.sendall(b"HEAD / HTTP/1.1\r\nhost: x\r\n\r\nGET / HTTP/1.1\r\nhost: x\r\n\r\n")
        reader = Reader(sock)
        data = b""
        while data.count(b"HTTP/1.1 200") < 2 or not data.endswith(b"Healthy"):
            chunk = sock.recv(65536)
            assert chunk
            data += chunk
    first, second = data.split(b"HTTP/1.1 200")[1:]
    assert b"content-length: 7" in first and not first.endswith(b"Healthy")
    assert second.endswith(b"\r\n\r\nHealthy")
    del reader


def test_an_oversized_head_is_431_and_garbage_is_400(served: Served) -> None:
    with connect(served) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nhost: x\r\nx-big: " + b"a" * (1100 * 1024) + b"\r\n\r\n")
        reader = Reader(sock)
        status, headers, body = reader.answer()
        assert status == 431 and headers["content-type"] == "application/json"
        assert "exceed" in json.loads(body)["message"]
    with connect(served) as sock:
        sock.sendall(b"NOT HTTP AT ALL\r\n\r\n")
        status, _, body = Reader(sock).answer()
        assert status == 400 and "Invalid HTTP request" in json.loads(body)["message"]
    assert httpx.get(served.url + "/").status_code == 200


def test_clients_that_vanish_mid_request_leave_the_server_healthy(served: Served) -> None:
    for _ in range(20):
        with connect(served) as sock:
            sock.sendall(post(b'"' + b"y" * 100_000 + b'"')[:50_000])
    with connect(served) as sock:
        sock.sendall(b"POST /score HTTP/1.1\r\nhost: x\r\ncontent-len")
    r = httpx.post(served.url + "/score", content=b'"fine"')
    assert r.status_code == 200 and r.json() == {"len": 6, "start": '"fine"'}
    metrics = httpx.get(served.url + "/metrics").text
    assert re.search(r"^modelport_requests_in_flight 0$", metrics, re.M)


def test_an_answer_before_the_body_is_read_drops_the_rest(tmp_path: Path) -> None:
    """413 from the declared length: the body is never buffered, and the connection closes."""
    s = start_server(tmp_path, ECHO, env={"MODELPORT_MAX_BODY_BYTES": "1000"})
    try:
        with connect(s) as sock:
            sock.sendall(post(b"z" * 5000)[:-4000])
            reader = Reader(sock)
            status, headers, _ = reader.answer()
            assert status == 413 and headers["connection"] == "close"
            assert reader.closed()
    finally:
        s.stop()
