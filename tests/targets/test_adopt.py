"""A restarted workspace server (a new driver on the same run dir) re-adopts live replicas."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

from modelport.targets.base import LivenessProbe
from modelport.targets.local import LocalDriver

from .conftest import cleanup, is_alive, kill9, make_spec, replica_pids, wait_for


def new_driver(run_dir: Path) -> LocalDriver:
    return LocalDriver(run_dir, backoff_base=0.2, backoff_cap=2.0, stop_grace=5.0)


def test_new_driver_adopts_live_replicas_and_supervises_them(
    driver: LocalDriver, app_dir: Path, run_dir: Path
) -> None:
    port = driver.apply(make_spec(app_dir, replicas=2))
    before = driver.wait_ready("ws/svc", 1)
    driver.close()  # the server goes away; its replicas keep serving

    second = new_driver(run_dir)
    try:
        assert second.adopt() == ["ws/svc"]
        rev = second.wait_ready("ws/svc", 1)
        assert [r.pid for r in rev.replicas] == [r.pid for r in before.replicas]
        assert [r.restarts for r in rev.replicas] == [0, 0]
        assert rev.replicas[0].limits == before.replicas[0].limits
        assert second.observe("ws/svc").port == port
        with urllib.request.urlopen(
            urllib.request.Request(f"http://127.0.0.1:{port}/score", b'{"a": 1}'), timeout=10
        ) as response:
            assert json.loads(response.read())["revision"] == "1"
        # the adopted replicas are supervised: a killed one comes back
        victim = rev.replicas[1].pid
        assert victim is not None
        kill9(victim)
        wait_for(
            lambda: (
                (r := second.observe("ws/svc").revision(1))
                and r.replicas[1].restarts == 1
                and r.replicas[1].ready
            ),
            what="the adopted replica to be restarted",
        )
    finally:
        cleanup(second)
    assert not any(is_alive(r.pid) for r in before.replicas if r.pid)


def test_adopt_restarts_replicas_that_died_while_no_server_ran(
    driver: LocalDriver, app_dir: Path, run_dir: Path
) -> None:
    driver.apply(make_spec(app_dir, replicas=2))
    before = driver.wait_ready("ws/svc", 1)
    driver.close()
    dead = before.replicas[0].pid
    assert dead is not None
    kill9(dead)
    wait_for(lambda: not is_alive(dead), what="the replica to die")

    second = new_driver(run_dir)
    try:
        second.adopt()
        rev = second.wait_ready("ws/svc", 1)
        assert rev.replicas[0].pid != dead and rev.replicas[0].restarts == 1
        assert rev.replicas[1].pid == before.replicas[1].pid
    finally:
        cleanup(second)


def test_adopt_finishes_a_retirement_and_kills_unknown_strays(
    driver: LocalDriver, app_dir: Path, run_dir: Path
) -> None:
    driver.apply(make_spec(app_dir))
    driver.wait_ready("ws/svc", 1)
    driver.apply(make_spec(app_dir, revision=2))
    rev2 = driver.wait_ready("ws/svc", 2)
    driver.apply(make_spec(app_dir, service="ws/other"))
    other = driver.wait_ready("ws/other", 1)
    # the server dies right after starting to retire rev 1, and ws/other's files are lost
    (run_dir / "ws" / "svc" / "rev-1" / "retired").touch()
    driver.close()
    import shutil

    shutil.rmtree(run_dir / "ws" / "other")

    second = new_driver(run_dir)
    try:
        assert second.adopt() == ["ws/svc"]
        wait_for(lambda: second.observe("ws/svc").revision(1) is None, what="rev 1 to be stopped")
        # the sweep for strays runs off the adopting thread (new deploys never wait for it)
        wait_for(
            lambda: not any(is_alive(r.pid) for r in other.replicas if r.pid),
            what="the unknown strays to be killed",
        )
        assert sorted(replica_pids(run_dir)) == [r.pid for r in rev2.replicas]
    finally:
        cleanup(second)


def test_an_adopted_ready_replica_reads_ready_before_its_first_probe(
    driver: LocalDriver, app_dir: Path, run_dir: Path
) -> None:
    """The state file says it was ready: a restarted server keeps it ready until a probe says
    otherwise (its service reads Healthy, not Unhealthy, across the restart)."""
    driver.apply(make_spec(app_dir, liveness=LivenessProbe(period_seconds=30, timeout_seconds=2)))
    before = driver.wait_ready("ws/svc", 1)
    driver.close()

    second = new_driver(run_dir)
    try:
        second.adopt()
        rev = second.observe("ws/svc").revision(1)  # right away: no probe has answered yet
        assert rev is not None and rev.ready
        assert [r.pid for r in rev.replicas] == [r.pid for r in before.replicas]
    finally:
        cleanup(second)
