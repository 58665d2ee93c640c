"""What a service reads while nothing is wrong with it, through a real server, CLI and replicas.

- A replica busy inside a long run() (under its scoring timeout) does not answer its health port;
  the service still reads Healthy, and ``service show`` marks the replica ``busy``.
- After a server restart, an adopted service that was Healthy stays Healthy: the new server's
  first supervision pass (right after it claims the service) does not read it Unhealthy while
  its first probe is still to come.
"""

from __future__ import annotations

import http.client
import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.conftest import ServerFactory, ServerProcess
from tests.e2e.deploy_support import (
    WS,
    delete_and_wait,
    deploy,
    deployed,
    servers_with_cleanup,
    tagged_script,
    wait_until,
)
from tests.e2e.sdk_deploy_support import cli
from tests.targets.conftest import wait_for
from tests.targets.test_busy import BUSY_SCRIPT

pytestmark = pytest.mark.timeout(300)


@pytest.fixture
def deploy_servers(
    server_factory: ServerFactory, tmp_path: Path
) -> Iterator[Callable[..., ServerProcess]]:
    yield from servers_with_cleanup(server_factory, tmp_path)


def _show(server: ServerProcess, name: str, cwd: Path) -> dict[str, Any]:
    proc = cli(server, ["service", "show", "-n", name, "-o", "json"], cwd)
    assert proc.returncode == 0, proc.stderr
    return dict(json.loads(proc.stdout))


def test_a_replica_busy_inside_run_reads_healthy_and_busy(
    deploy_servers: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    server = deploy_servers()
    client = server.client()
    config = {
        "computeType": "local",
        "scoringTimeoutMs": 60000,
        "livenessProbeRequirements": {"periodSeconds": 1, "timeoutSeconds": 1,
                                      "failureThreshold": 2},
    }  # fmt: skip
    # a generous inline budget: on a loaded host 2 ms calls would keep run() on threads
    env = {"name": "busy-env", "environmentVariables": {"MODELPORT_INLINE_RUN_BUDGET_MS": "200"}}
    service = deployed(client, deploy(client, "busy", script=BUSY_SCRIPT, environment=env,
                                      config=config))  # fmt: skip
    assert service["state"] == "Healthy", service
    url = urlsplit(service["scoringUri"])
    answer: dict[str, Any] = {}

    def score() -> None:
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=120)
        for _ in range(40):  # quick calls: run() qualifies for the event loop
            conn.request("POST", url.path, body=b'{"busy": 0}')
            conn.getresponse().read()
        conn.request("POST", url.path, body=b'{"busy": 20}')
        response = conn.getresponse()
        answer["status"], answer["body"] = response.status, response.read()
        conn.close()

    call = threading.Thread(target=score)
    call.start()
    # a probe went unanswered because run() holds the replica: busy, and still Healthy
    busy = wait_for(
        lambda: (s := _show(server, "busy", tmp_path))["replicas"][0]["busy"] and s,
        60,
        "the replica to be seen busy inside run()",
    )
    assert busy["state"] == "Healthy", busy
    assert busy["replicas"][0]["ready"] is True
    assert "status" not in answer  # run() had not returned yet
    call.join(150)
    assert answer.get("status") == 200, answer
    after = wait_for(
        lambda: not (s := _show(server, "busy", tmp_path))["replicas"][0]["busy"] and s,
        60,
        "the replica to answer its probes again",
    )
    assert after["state"] == "Healthy" and after["replicas"][0]["restarts"] == 0, after
    log = cli(server, ["service", "get-logs", "-n", "busy", "-l", "300"], tmp_path).stdout
    assert "Healthy -> Unhealthy" not in log, log[-3000:]
    delete_and_wait(client, "busy")


def _lease_owner(home: Path, name: str) -> str | None:
    with sqlite3.connect(home / "db.sqlite") as db:
        row = db.execute("SELECT lease_owner FROM services WHERE name = ?", (name,)).fetchone()
    return None if row is None else row[0]


def test_an_adopted_healthy_service_stays_healthy_across_a_server_restart(
    deploy_servers: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    home = tmp_path / "home"
    first = deploy_servers(home)
    service = deployed(first.client(), deploy(first.client(), "steady", script=tagged_script("a")))
    assert service["state"] == "Healthy", service
    before = _lease_owner(home, "steady")
    first.stop()  # the replica keeps serving

    second = deploy_servers(home)
    # the new server claims the service and supervises it in the same pass
    wait_until(lambda: _lease_owner(home, "steady") not in (None, before), 60, "the new lease")
    shown = _show(second, "steady", tmp_path)
    assert shown["state"] == "Healthy", shown
    assert shown["replicas"][0]["pid"] == service["replicas"][0]["pid"]
    deploy_log = (home / "services" / "default" / "steady" / "deploy.log").read_text()
    assert "-> Unhealthy" not in deploy_log, deploy_log
    delete_and_wait(second.client(), "steady")
    assert second.client().get(f"{WS}/services/steady").status_code == 404


def test_an_operation_long_poll_answers_when_the_operation_ends(
    deploy_servers: Callable[..., ServerProcess],
) -> None:
    """GET operations/{id}?waitSeconds=N holds the request until the operation is terminal (the
    SDK and CLI follow deployments this way); without it the answer is immediate, as before."""
    client = deploy_servers().client()
    accepted = deploy(client, "polled", script=tagged_script("p"))
    assert accepted.status_code == 202, accepted.text
    op_id = accepted.json()["operation"]["id"]
    op = client.get(f"{WS}/operations/{op_id}", params={"waitSeconds": 30}).json()
    assert op["state"] == "Succeeded", op
    assert client.get(f"{WS}/services/polled").json()["state"] == "Healthy"
    bad = client.get(f"{WS}/operations/{op_id}", params={"waitSeconds": 31})
    assert bad.status_code in (400, 422) and "message" in bad.json(), bad.text
    delete_and_wait(client, "polled")
