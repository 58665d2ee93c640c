"""(c) kill -9 a replica under load. With two replicas, clients see no failed request beyond the
ones in flight on the killed replica, and the service returns to Healthy with two replicas."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import ServerFactory
from tests.e2e.deploy_support import (
    WS,
    deploy,
    deployed,
    replica_pids,
    start_deploy_server,
    wait_until,
)

SCRIPT = """
import os, time

def init():
    pass

def run(raw):
    time.sleep(0.005)
    return {"pid": os.getpid()}
"""
CLIENTS = 4


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


@pytest.mark.slow
def test_killing_one_of_two_replicas_under_load_fails_only_its_in_flight_requests(
    server_factory: ServerFactory, tmp_path: Path
) -> None:
    server = start_deploy_server(server_factory, tmp_path / "home")
    c = server.client()
    config = {"computeType": "local", "numReplicas": 2, "maxConcurrentRequestsPerContainer": 4}
    svc = deployed(c, deploy(c, "two-replicas", script=SCRIPT, config=config))
    assert svc["state"] == "Healthy" and len(svc["replicas"]) == 2, svc
    victim = svc["replicas"][0]["pid"]
    stop = threading.Event()
    ok: list[int] = []
    failed: list[tuple[float, str]] = []
    lock = threading.Lock()

    def load() -> None:
        # one connection per request: a pooled connection to the dead replica would be a
        # client-side artefact, not a request the service lost
        while not stop.is_set():
            started = time.monotonic()
            try:
                r = httpx.post(svc["scoringUri"], json={"x": 1}, timeout=30)
                with lock:
                    (ok.append(r.json()["pid"]) if r.status_code == 200 else failed.append(
                        (started, f"{r.status_code} {r.text[:100]}")
                    ))  # fmt: skip
            except httpx.HTTPError as exc:
                with lock:
                    failed.append((started, repr(exc)))

    threads = [threading.Thread(target=load) for _ in range(CLIENTS)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 30
    while len(ok) < 200 or victim not in ok:  # load is flowing through both replicas
        assert time.monotonic() < deadline, f"load did not reach both replicas: {failed[:5]}"
        time.sleep(0.05)  # poll interval, bounded by the deadline
    os.kill(victim, signal.SIGKILL)
    while _alive(victim):  # its sockets close when it dies; SIGKILL is not instantaneous
        time.sleep(0.005)  # poll interval, bounded by SIGKILL itself
    kill_time = time.monotonic()
    killed_at = len(ok)
    deadline = time.monotonic() + 60
    while True:
        s = c.get(f"{WS}/services/two-replicas").json()
        pids = [r["pid"] for r in s["replicas"]]
        if (
            s["state"] == "Healthy"
            and len(pids) == 2
            and victim not in pids
            and all(r["ready"] for r in s["replicas"])
        ):
            break
        assert time.monotonic() < deadline, f"service did not return to Healthy: {s}"
        time.sleep(0.2)  # poll interval, bounded by the deadline
    new_pid = next(p for p in pids if p != svc["replicas"][1]["pid"])
    deadline = time.monotonic() + 30
    while new_pid not in ok[killed_at:]:  # the restarted replica takes traffic again
        assert time.monotonic() < deadline, "the new replica gets no traffic"
        time.sleep(0.05)  # poll interval, bounded by the deadline
    stop.set()
    for t in threads:
        t.join(30)
    print(
        f"\n[campaign] replica kill -9 under load: {len(ok) + len(failed)} requests, "
        f"{len(failed)} failed (bound: {CLIENTS} in flight), restarted as pid {new_pid}"
    )
    # only requests already in flight when the replica died may fail: each client has one at a
    # time, and every request started after the kill succeeds
    assert len(failed) <= CLIENTS, failed
    late = [f for f in failed if f[0] > kill_time]
    assert not late, f"requests started after the kill failed: {late}"
    assert c.delete(f"{WS}/services/two-replicas").status_code == 202
    wait_until(lambda: not replica_pids(server.home), 60, "the replicas to exit")
