"""Admission control: bounded queue (503), scoring timeout (504) with the slot accounted, async runs."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.serving.conftest import Served, start_server, wait_in_flight

SLEEPY = """
import json
import time


def init():
    pass


def run(raw):
    time.sleep(json.loads(raw).get("sleep", 0))
    return "done"
"""

ASYNC_SLEEPY = """
import asyncio
import json


def init():
    pass


async def run(raw):
    await asyncio.sleep(json.loads(raw).get("sleep", 0))
    return "done"
"""


def post_in_background(
    url: str, body: dict[str, float], results: list[httpx.Response]
) -> threading.Thread:
    t = threading.Thread(target=lambda: results.append(httpx.post(url, json=body, timeout=30)))
    t.start()
    return t


@pytest.fixture(scope="module")
def queue_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    s = start_server(
        tmp_path_factory.mktemp("queue"),
        SLEEPY,
        env={
            "MODELPORT_MAX_CONCURRENT_REQUESTS": "1",
            "MODELPORT_MAX_QUEUE_WAIT_MS": "1000",
            "MODELPORT_MAX_QUEUE_LENGTH": "1",
        },
    )
    yield s
    s.stop()


def test_queue_wait_over_limit_is_503_and_full_queue_is_503_at_once(queue_server: Served) -> None:
    url = queue_server.url + "/score"
    first: list[httpx.Response] = []
    t = post_in_background(url, {"sleep": 2.5}, first)
    wait_in_flight(queue_server, 1)
    second: list[httpx.Response] = []
    t2 = post_in_background(url, {"sleep": 0}, second)
    wait_in_flight(queue_server, 2)
    started = time.monotonic()
    third = httpx.post(url, json={"sleep": 0})
    assert third.status_code == 503
    assert "queue is full" in third.json()["message"]
    assert time.monotonic() - started < 0.8
    t2.join()
    assert second[0].status_code == 503
    assert "waited 1000 ms" in second[0].json()["message"]
    t.join()
    assert first[0].status_code == 200
    metrics = httpx.get(queue_server.url + "/metrics").text
    assert 'modelport_rejected_total{reason="queue_full"} 1' in metrics
    assert 'modelport_rejected_total{reason="queue_timeout"} 1' in metrics
    assert httpx.post(url, json={"sleep": 0}).status_code == 200


def test_scoring_timeout_is_504_and_the_thread_keeps_its_slot(tmp_path: Path) -> None:
    s = start_server(
        tmp_path,
        SLEEPY,
        env={"MODELPORT_SCORING_TIMEOUT_MS": "300", "MODELPORT_MAX_QUEUE_WAIT_MS": "5000"},
    )
    try:
        started = time.monotonic()
        r = httpx.post(s.url + "/score", json={"sleep": 1.2}, timeout=10)
        assert r.status_code == 504
        assert r.json() == {"message": "Scoring timeout after 300 ms"}
        assert r.headers["x-ms-run-function-failed"] == "True"
        assert time.monotonic() - started < 1.0
        # the timed-out run() still occupies the only slot until it really returns
        r2 = httpx.post(s.url + "/score", json={"sleep": 0}, timeout=10)
        assert r2.status_code == 200
        assert time.monotonic() - started >= 1.1
    finally:
        s.stop()


def test_async_run_timeout_frees_the_slot_at_once(tmp_path: Path) -> None:
    s = start_server(tmp_path, ASYNC_SLEEPY, env={"MODELPORT_SCORING_TIMEOUT_MS": "200"})
    try:
        assert httpx.post(s.url + "/score", json={"sleep": 5}).status_code == 504
        started = time.monotonic()
        assert httpx.post(s.url + "/score", json={"sleep": 0}).status_code == 200
        assert time.monotonic() - started < 1.0
    finally:
        s.stop()


def test_async_runs_overlap_up_to_the_limit(tmp_path: Path) -> None:
    s = start_server(tmp_path, ASYNC_SLEEPY, env={"MODELPORT_MAX_CONCURRENT_REQUESTS": "8"})
    try:
        results: list[httpx.Response] = []
        started = time.monotonic()
        threads = [post_in_background(s.url + "/score", {"sleep": 0.5}, results) for _ in range(8)]
        for t in threads:
            t.join()
        assert [r.status_code for r in results] == [200] * 8
        assert time.monotonic() - started < 2.0
    finally:
        s.stop()
