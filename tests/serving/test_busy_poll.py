"""--busy-poll-us: after its last answer a worker polls for a while before it sleeps, adapting that
while to the gaps between requests, and an idle worker costs no CPU."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvloop

from modelport.serving.busypoll import GROW_START, BusyPoll
from tests.serving.conftest import Served, start_server

ECHO = """
def init():
    pass


def run(raw):
    return raw
"""
TICK = os.sysconf("SC_CLK_TCK")


def in_loop(test: object) -> None:
    uvloop.run(test)  # type: ignore[arg-type]  # the loop the server runs on


async def settle(poll: BusyPoll, timeout: float = 10.0) -> None:
    """Wait until the poll has ended on its own (it keeps the loop turning until then)."""
    deadline = time.monotonic() + timeout
    while poll.polling:
        assert time.monotonic() < deadline, "the poll never ended"
        await asyncio.sleep(0.001)


def test_gaps_within_the_maximum_grow_the_budget_up_to_it() -> None:
    async def check() -> None:
        poll = BusyPoll(asyncio.get_running_loop(), 30.0)  # no gap on a busy host reaches 30 s
        assert poll.budget == GROW_START
        budgets = []
        t0 = time.perf_counter()
        for _ in range(3):
            poll.answered()
            await asyncio.sleep(0.005)  # longer than the budget: the poll ends, the worker sleeps
            await settle(poll)
            poll.arrived()
            budgets.append(poll.budget)
        assert budgets == [2 * GROW_START, 4 * GROW_START, 8 * GROW_START]
        assert (poll.caught, poll.missed) == (0, 3)
        # each poll ran its whole budget (1, 2, 4 x GROW_START), and polling is part of the time
        assert 7 * GROW_START <= poll.polled_s <= time.perf_counter() - t0

    in_loop(check())


def test_gaps_beyond_the_maximum_halve_it_to_nothing_and_polling_stops() -> None:
    async def check() -> None:
        poll = BusyPoll(asyncio.get_running_loop(), 0.001)
        budgets = []
        for _ in range(3):
            poll.answered()
            await asyncio.sleep(0.01)  # ten times the maximum
            poll.arrived()
            budgets.append(poll.budget)
        assert budgets == [GROW_START / 2, GROW_START / 4, 0.0]
        poll.answered()
        assert not poll.polling  # a budget of nothing: sleep at once
        await asyncio.sleep(0.0001)  # a gap within the maximum grows it again
        poll.arrived()
        assert poll.budget == GROW_START

    in_loop(check())


def test_a_request_within_the_budget_is_caught_and_keeps_it() -> None:
    async def check() -> None:
        poll = BusyPoll(asyncio.get_running_loop(), 30.0)
        poll.budget = 10.0  # no stall on a loaded host is that long
        t0 = time.perf_counter()
        poll.answered()
        t1 = time.perf_counter()
        await asyncio.sleep(0.002)  # the loop turns: still polling
        assert poll.polling
        t2 = time.perf_counter()
        poll.arrived()
        t3 = time.perf_counter()
        assert (poll.caught, poll.budget) == (1, 10.0)
        # the gap polled through, counted once: from within answered() to within arrived()
        assert t2 - t1 <= poll.polled_s <= t3 - t0
        await settle(poll)  # bytes came in: this poll ends; the next answer starts another

    in_loop(check())


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def post_back_to_back(served: Served, n: int) -> None:
    """n requests on one keep-alive connection, each sent as soon as the last answer is read."""
    body = b'{"x": 1}'
    request = (
        b"POST /score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
    )
    with socket.create_connection(("127.0.0.1", served.port), timeout=30) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for _ in range(n):
            sock.sendall(request)
            answer = b""
            while b"\r\n\r\n" not in answer:
                chunk = sock.recv(65536)
                assert chunk, "connection closed"
                answer += chunk
            head, rest = answer.split(b"\r\n\r\n", 1)
            assert head.startswith(b"HTTP/1.1 200"), head
            length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))  # type: ignore[union-attr]
            while len(rest) < length:
                rest += sock.recv(65536)


def metrics(served: Served) -> dict[str, float]:
    text = httpx.get(served.url + "/metrics").text
    return {
        m.group(1): float(m.group(2))
        for m in re.finditer(r"^(modelport_busy_poll\S*) (\S+)$", text, re.M)
    }


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    s = start_server(tmp_path_factory.mktemp("busy"), ECHO)
    yield s
    s.stop()


def test_a_served_worker_polls_after_answers_and_is_idle_after(served: Served) -> None:
    start = metrics(served)
    t0 = time.perf_counter()
    post_back_to_back(served, 300)
    seen = metrics(served)
    wall = time.perf_counter() - t0
    polls = (
        seen['modelport_busy_poll_total{outcome="caught"}']
        + seen['modelport_busy_poll_total{outcome="missed"}']
    )
    assert polls >= 1, seen
    assert 0 <= seen["modelport_busy_poll_budget_seconds"] <= 200e-6
    polled = seen["modelport_busy_poll_seconds_total"] - start["modelport_busy_poll_seconds_total"]
    assert 0 < polled <= wall
    # nothing comes in now: whatever poll is left ends within its budget and the worker sleeps
    before = cpu_seconds(served.proc.pid)
    time.sleep(1.0)  # measuring idle CPU over a second, not waiting for anything
    assert cpu_seconds(served.proc.pid) - before < 0.3
    after_idle = metrics(served)["modelport_busy_poll_seconds_total"]
    assert after_idle - seen["modelport_busy_poll_seconds_total"] < 0.3


def test_busy_poll_0_turns_it_off(tmp_path: Path) -> None:
    s = start_server(tmp_path, ECHO, "--busy-poll-us", "0")
    try:
        post_back_to_back(s, 20)
        assert metrics(s) == {}
    finally:
        s.stop()


@pytest.mark.parametrize("value", ["-1", "100001", "lots"])
def test_a_bad_busy_poll_value_is_one_line_and_exit_2(tmp_path: Path, value: str) -> None:
    (tmp_path / "score.py").write_text(ECHO)
    out = subprocess.run(
        [sys.executable, "-m", "modelport.serving", "--entry-script", "score.py",
         "--busy-poll-us", value],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert out.returncode == 2, out.stderr
    assert "busy-poll-us" in out.stderr
    assert "Traceback" not in out.stderr
