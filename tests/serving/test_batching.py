"""@modelport.batch: concurrent requests gathered into one run() call; wrong-length answers fail the batch."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator

import httpx
import pytest

from tests.serving.conftest import Served, start_server

SCRIPT = """
import json
import time

import modelport


def init():
    pass


@modelport.batch(max_batch_size=8, max_latency_ms=50)
def run(raws):
    time.sleep(0.05)  # a fixed cost per call, the kind batching amortises
    items = [json.loads(r) for r in raws]
    if any(i.get("x") == "short" for i in items):
        return []
    return [{"double": i["x"] * 2, "batch": len(items)} for i in items]
"""


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    s = start_server(tmp_path_factory.mktemp("batch"), SCRIPT, "--log-level", "DEBUG")
    yield s
    s.stop()


def fire(url: str, bodies: list[dict[str, object]]) -> list[httpx.Response]:
    out: list[httpx.Response | None] = [None] * len(bodies)

    def one(i: int) -> None:
        out[i] = httpx.post(url, json=bodies[i], timeout=30)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(bodies))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return [r for r in out if r is not None]


def test_a_lone_request_is_not_held_back(served: Served) -> None:
    r = httpx.post(served.url + "/score", json={"x": 1})
    assert r.json() == {"double": 2, "batch": 1}
    assert float(r.headers["x-ms-run-fn-exec-ms"]) >= 50


def test_concurrent_requests_share_calls_and_each_gets_its_own_answer(served: Served) -> None:
    responses = fire(served.url + "/score", [{"x": i} for i in range(24)])
    assert sorted(r.json()["double"] for r in responses) == [2 * i for i in range(24)]
    assert max(r.json()["batch"] for r in responses) > 1
    metrics = httpx.get(served.url + "/metrics").text
    count = int(re.search(r"modelport_batch_size_count (\d+)", metrics).group(1))  # type: ignore[union-attr]
    total = float(re.search(r"modelport_batch_size_sum (\S+)", metrics).group(1))  # type: ignore[union-attr]
    assert total / count > 1.5
    assert re.search(r'modelport_batches_total\{reason="(full|idle|timeout)"\} \d+', metrics)
    assert "batch of" in served.log()


def test_wrong_length_answer_fails_every_request_of_the_batch(served: Served) -> None:
    r = httpx.post(served.url + "/score", json={"x": "short"})
    assert r.status_code == 500
    assert "returned 0 outputs for a batch of 1 inputs" in r.json()["message"]
    assert httpx.post(served.url + "/score", json={"x": 2}).json()["double"] == 4
