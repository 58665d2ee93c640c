"""Connection floods with no credentials, against an inference server (a replica's process, with
its private health port) and the workspace server, each under a lowered open-file limit so that
exhaustion is cheap to reach: legitimate requests and health probes measured alongside must all
succeed. Figures are printed with ``[campaign]`` (run with ``-s`` to see them)."""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ServerProcess
from tests.faults.flood_support import (
    Flood,
    LargeBodies,
    Traffic,
    limited,
    serve_limited,
    under_attack,
)
from tests.security.support import start_server_with_env

pytestmark = pytest.mark.slow

NOFILE = 256  # the cap becomes 192 connections; each flood holds more than the limit
SECONDS = 3.0
SCRIPT = """
def init():
    pass

def run(raw):
    return {"echo": raw}
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    s = start_server_with_env(
        tmp_path_factory.mktemp("flood-home"),
        {"MODELPORT_BODY_TIMEOUT": "2", "MODELPORT_AUTH_FAILURES": "100000"},
        prefix=limited(NOFILE),
    )
    yield s
    s.stop()


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def test_replica_answers_clients_and_probes_through_slowloris_and_held_bodies(
    tmp_path: Path,
) -> None:
    served, health = serve_limited(tmp_path, SCRIPT, NOFILE, "--body-timeout", "2")
    try:
        floods = [Flood(served.port, 300, "slowloris", "/score"),
                  Flood(served.port, 150, "held-body", "/score")]  # fmt: skip
        legit = [
            Traffic(lambda c: c.post("/score", json={"x": 1}),
                    lambda: httpx.Client(base_url=served.url, timeout=10)),
            Traffic(lambda c: c.post("/score", json={"x": 2}),
                    lambda: httpx.Client(base_url=served.url, timeout=10)),
            Traffic(lambda c: c.get("/"),  # the driver's liveness probe, on its own port
                    lambda: httpx.Client(base_url=f"http://127.0.0.1:{health}", timeout=2)),
        ]  # fmt: skip
        watch = under_attack(served.proc.pid, floods, legit, SECONDS)
        assert served.proc.poll() is None, served.log()
        for t in legit:
            print(f"\n[campaign] replica under {sum(f.count for f in floods)} held connections: "
                  f"{t.summary()}")  # fmt: skip
            assert t.latencies and not t.failures, t.failures[:5]
        print(f"[campaign] replica {watch.summary()}; flood connections opened "
              f"{sum(f.opened for f in floods)}, closed by the server "
              f"{sum(f.closed_by_server for f in floods)}, answers "
              f"{sum((f.answers for f in floods), start=type(floods[0].answers)())}")  # fmt: skip
        assert watch.max_fds < NOFILE
        assert all(f.closed_by_server > 0 for f in floods)  # pushed out or timed out
        assert "Traceback" not in served.log()
    finally:
        served.stop()


def test_workspace_server_answers_through_slowloris_and_held_bodies(server: ServerProcess) -> None:
    port = _port(server.url)
    auth = b"Authorization: Bearer " + server.token.encode() + b"\r\n"
    floods = [
        Flood(port, 250, "slowloris", "/api/v1/workspaces"),
        Flood(port, 100, "held-body", "/api/v1/workspaces"),  # 401 before the body: drained
        Flood(port, 100, "held-body", "/api/v1/workspaces", auth),  # the token: body deadline
    ]
    legit = [Traffic(lambda c: c.get("/workspaces"), server.client) for _ in range(2)]
    watch = under_attack(server.pid, floods, legit, SECONDS)
    assert server.proc.poll() is None
    for t in legit:
        print(f"\n[campaign] workspace server under {sum(f.count for f in floods)} held "
              f"connections: {t.summary()}")  # fmt: skip
        assert t.latencies and not t.failures, t.failures[:5]
    print(f"[campaign] workspace {watch.summary()}; flood connections opened "
          f"{sum(f.opened for f in floods)}, closed by the server "
          f"{sum(f.closed_by_server for f in floods)}")  # fmt: skip
    assert watch.max_fds < NOFILE
    assert all(f.closed_by_server > 0 for f in floods)


def test_unauthenticated_large_bodies_are_refused_unread_and_do_not_stall_the_api(
    server: ServerProcess,
) -> None:
    flood = LargeBodies(f"{server.url}/api/v1/workspaces/default/models/m/versions", clients=4)
    legit = [Traffic(lambda c: c.get("/workspaces"), server.client)]
    watch = under_attack(server.pid, [flood], legit, SECONDS)
    print(f"\n[campaign] API under 4 clients sending unauthenticated 8 MiB bodies "
          f"({flood.sent} sent, answers {dict(flood.statuses)}): {legit[0].summary()}")  # fmt: skip
    print(f"[campaign] workspace {watch.summary()}")
    assert not legit[0].failures, legit[0].failures[:5]
    assert flood.sent > 0 and set(flood.statuses) <= {401}, flood.statuses
    # eight 8 MiB bodies parsed used to grow the server by ~235 MB: they are not read now
    assert watch.max_rss_kb - watch.rss_start_kb < 64 * 1024


def _raw(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        with contextlib.suppress(OSError):  # refused mid-send: the answer is already waiting
            s.sendall(request)
        return s.recv(65536)


def test_workspace_server_refuses_a_request_head_over_1_mib_with_431(
    server: ServerProcess,
) -> None:
    head = b"GET /api/v1/workspaces HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (2 * 1024 * 1024)
    answer = _raw(_port(server.url), head)
    assert answer.startswith(b"HTTP/1.1 431"), answer[:200]
    assert b'"message"' in answer
    assert server.client().get("/workspaces").status_code == 200


def test_replica_answers_400_to_deep_nesting_and_421_to_a_foreign_host(tmp_path: Path) -> None:
    served, health = serve_limited(tmp_path, SCRIPT, 1024, "--allowed-hosts", "127.0.0.1,localhost")
    try:
        # DNS rebinding: a page of evil.example resolved to 127.0.0.1 sends its own Host
        r = httpx.post(f"{served.url}/score", json={"x": 1}, headers={"host": "evil.example"})
        assert r.status_code == 421 and "Host" in r.json()["message"], r.text
        ok = httpx.post(f"{served.url}/score", json={"x": 1}, headers={"host": "localhost:80"})
        assert ok.status_code == 200, ok.text
        probe = httpx.get(f"http://127.0.0.1:{health}/", headers={"host": "evil.example"})
        assert probe.status_code == 200  # the private health port is not checked
        r = httpx.get(f"{served.url}/score", params={"data": "[" * 1000 + "]" * 1000}, timeout=10)
        assert r.status_code == 400, r.text
        assert "nested too deeply" in r.json()["message"]
        r = httpx.post(f"{served.url}/score", content=b"[" * 100_000, timeout=10,
                       headers={"content-type": "application/json"})  # fmt: skip
        assert r.status_code < 500, r.text
        assert "RecursionError" not in served.log()
    finally:
        served.stop()


SLOW = """
import time

def init():
    pass

def run(raw):
    time.sleep(3)
    return "done"
"""


def test_replica_past_its_cap_with_every_connection_busy_answers_503(tmp_path: Path) -> None:
    served, _ = serve_limited(tmp_path, SLOW, 1024, "--max-connections", "2",
                              "--max-concurrent-requests", "4")  # fmt: skip
    busy = []
    try:
        for _ in range(2):  # two requests being answered: nothing may be pushed out
            s = socket.create_connection(("127.0.0.1", served.port), timeout=10)
            s.sendall(b"POST /score HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\n1")
            busy.append(s)
        deadline = time.monotonic() + 10
        while True:
            r = httpx.get(f"{served.url}/", timeout=10)
            if r.status_code == 503:
                break
            assert time.monotonic() < deadline, "never refused"
            time.sleep(0.05)  # poll until both slow requests are in run()
        assert "too many open connections" in r.json()["message"]
        for s in busy:  # the busy ones are answered, not evicted
            assert s.recv(4096).startswith(b"HTTP/1.1 200")
    finally:
        for s in busy:
            s.close()
        served.stop()
