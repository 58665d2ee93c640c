"""A burst of good and malformed requests leaves the server healthy, answering, and its memory flat."""

from __future__ import annotations

import random
import socket
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from tests.serving.conftest import start_server

SCRIPT = """
import json


def init():
    pass


def run(raw):
    data = json.loads(raw)
    return {"n": len(data["data"])}
"""


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def raw_exchange(port: int, payload: bytes, read: bool = True) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(payload)
        if not read:
            return b""
        chunks = []
        while True:
            try:
                chunk = s.recv(65536)
            except (ConnectionResetError, TimeoutError):
                break
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)


def test_burst_of_2000_mixed_requests(tmp_path: Path) -> None:
    s = start_server(
        tmp_path,
        SCRIPT,
        env={"MODELPORT_MAX_BODY_BYTES": "20000", "MODELPORT_MAX_CONCURRENT_REQUESTS": "2"},
    )
    try:
        good = {"data": [[0.5] * 64]}
        client = httpx.Client(base_url=s.url, timeout=20)

        def do(kind: str) -> int:
            if kind == "good":
                return client.post("/score", json=good).status_code
            if kind == "bad_json":
                return client.post("/score", content=b"{nope").status_code
            if kind == "not_utf8":
                return client.post("/score", content=b"\xff\xfe" * 50).status_code
            if kind == "long_id":
                return client.post(
                    "/score", json=good, headers={"x-request-id": "i" * 150}
                ).status_code
            if kind == "method":
                return client.put("/score", json=good).status_code
            if kind == "oversize":
                return httpx.post(s.url + "/score", content=b"z" * 30_000).status_code
            if kind == "garbage":
                answer = raw_exchange(s.port, b"\x16\x03\x01 not http at all\r\n\r\n")
                return int(answer.split()[1]) if answer.startswith(b"HTTP/1.1") else 0
            if kind == "truncated":
                raw_exchange(
                    s.port,
                    b'POST /score HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n{"data"',
                    read=False,
                )
                return 0
            return client.get("/no/such/route").status_code

        for _ in range(300):
            assert do("good") == 200
        baseline = rss_kb(s.proc.pid)
        kinds = ["good"] * 8 + [
            "bad_json",
            "not_utf8",
            "long_id",
            "method",
            "oversize",
            "garbage",
            "truncated",
            "404",
        ]
        rng = random.Random(5)
        plan = [rng.choice(kinds) for _ in range(2000)]
        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(do, plan))
        expected = {
            "good": 200,
            "bad_json": 500,
            "not_utf8": 400,
            "long_id": 431,
            "method": 405,
            "oversize": 413,
            "garbage": 400,
            "truncated": 0,
            "404": 404,
        }
        wrong = [(k, st) for k, st in zip(plan, statuses, strict=True) if st != expected[k]]
        assert not wrong, wrong[:10]
        assert httpx.get(s.url + "/").text == "Healthy"
        for _ in range(300):
            assert do("good") == 200
        grown_mb = (rss_kb(s.proc.pid) - baseline) / 1024
        assert grown_mb < 15, f"RSS grew {grown_mb:.1f} MB"
        client.close()
    finally:
        assert s.stop() == 0
