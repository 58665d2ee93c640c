"""A workspace server killed with -9 mid-deploy: after a restart the service reaches its desired
state, with no orphan process and no held port once it is deleted."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ServerFactory, ServerProcess
from tests.e2e.deploy_support import (
    WS,
    delete_and_wait,
    deploy,
    port_is_free,
    replica_pids,
    servers_with_cleanup,
    tagged_script,
    wait_operation,
    wait_state,
    wait_until,
)


@pytest.fixture
def deploy_servers(
    server_factory: ServerFactory, tmp_path: Path
) -> Iterator[Callable[..., ServerProcess]]:
    yield from servers_with_cleanup(server_factory, tmp_path)


def _wait_step(client: httpx.Client, op_id: str, steps: tuple[str, ...], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        op = client.get(f"{WS}/operations/{op_id}").json()
        if op["step"] in steps:
            return
        assert op["state"] == "Running", op
        time.sleep(0.05)  # poll interval, bounded by the deadline
    raise AssertionError(f"operation never reached {steps}")


def test_server_killed_mid_deploy_finishes_after_restart(
    deploy_servers: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    home = tmp_path / "home"
    first = deploy_servers(home)
    client = first.client()
    r = deploy(client, "survivor", script=tagged_script("alive", init_seconds=3))
    assert r.status_code == 202, r.text
    op_id = r.json()["operation"]["id"]
    _wait_step(client, op_id, ("wait",), 120)  # replicas started, init() still running
    wait_until(lambda: bool(replica_pids(home)), 30, "a replica process")
    first.kill()

    second = deploy_servers(home)
    client = second.client()
    op = wait_operation(client, op_id, 120)
    assert op["state"] == "Succeeded", op
    service = wait_state(client, "survivor", ("Healthy",), 30)
    assert httpx.post(service["scoringUri"], content=b"{}", timeout=10).json() == {
        "revision": "alive"
    }
    assert len(replica_pids(home)) == 1  # adopted, not duplicated
    port = service["port"]
    delete_and_wait(client, "survivor")
    wait_until(lambda: not replica_pids(home), 30, "no replica left")
    assert port_is_free(port)


def test_healthy_service_outlives_a_server_restart(
    deploy_servers: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    home = tmp_path / "home"
    first = deploy_servers(home)
    client = first.client()
    r = deploy(client, "steady", script=tagged_script("s"))
    assert wait_operation(client, r.json()["operation"]["id"])["state"] == "Succeeded"
    pids = replica_pids(home)
    uri = client.get(f"{WS}/services/steady").json()["scoringUri"]
    first.kill()
    # the replica keeps answering while no server runs
    assert httpx.post(uri, content=b"{}", timeout=10).status_code == 200
    second = deploy_servers(home)
    client = second.client()
    service = wait_state(client, "steady", ("Healthy",), 30)
    assert replica_pids(home) == pids
    assert service["replicas"] and service["replicas"][0]["pid"] == pids[0]
    delete_and_wait(client, "steady")
    wait_until(lambda: not replica_pids(home), 30, "no replica left")


@pytest.mark.parametrize("lose_run_dir", [False, True], ids=["run-dir-kept", "run-dir-lost"])
def test_replicas_that_died_with_the_server_are_started_again(
    deploy_servers: Callable[..., ServerProcess], tmp_path: Path, lose_run_dir: bool
) -> None:
    import os
    import shutil
    import signal

    home = tmp_path / "home"
    first = deploy_servers(home)
    client = first.client()
    r = deploy(client, "reborn", script=tagged_script("r"))
    assert wait_operation(client, r.json()["operation"]["id"])["state"] == "Succeeded"
    (pid,) = replica_pids(home)
    first.kill()
    os.kill(pid, signal.SIGKILL)  # the machine lost everything but the store
    wait_until(lambda: not replica_pids(home), 10, "the replica to die")
    if lose_run_dir:  # the driver's own records are gone too: the store alone brings it back
        shutil.rmtree(home / "replicas")
    second = deploy_servers(home)
    client = second.client()

    def serving() -> bool:
        service = client.get(f"{WS}/services/reborn").json()
        return service["state"] == "Healthy" and bool(replica_pids(home))

    wait_until(serving, 60, "the service to be Healthy again")
    uri = client.get(f"{WS}/services/reborn").json()["scoringUri"]
    wait_until(lambda: httpx.post(uri, content=b"{}", timeout=10).status_code == 200, 30, "answers")
    delete_and_wait(client, "reborn")
    wait_until(lambda: not replica_pids(home), 30, "no replica left")
