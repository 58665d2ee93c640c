"""``server stop`` names the replicas it leaves running (``--services`` stops them);
MODELPORT_PORT is the port of ``server start`` and of the server other commands start."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from modelport.server import daemon
from tests.cli.conftest import assert_one_line_error, run_cli
from tests.e2e.deploy_support import (
    deploy,
    deployed,
    kill_leftovers,
    replica_pids,
    start_deploy_server,
    tagged_script,
)
from tests.serving.conftest import free_port


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "home"
    yield path
    daemon.stop(path)
    kill_leftovers(path)


def _status(env: dict[str, str]) -> dict[str, object]:
    return dict(json.loads(run_cli("server", "status", "-o", "json", env=env).stdout))


def test_modelport_port_binds_autostart_and_server_start(home: Path, tmp_path: Path) -> None:
    port = free_port()
    env = {"MODELPORT_HOME": str(home), "MODELPORT_PORT": str(port)}
    first_use = run_cli("model", "list", "-o", "json", env=env, cwd=tmp_path)
    assert first_use.returncode == 0, first_use.stderr
    assert _status(env)["port"] == port
    run_cli("server", "stop", env=env)
    started = run_cli("server", "start", "-o", "json", env=env)
    assert started.returncode == 0, started.stderr
    assert json.loads(started.stdout)["port"] == port
    run_cli("server", "stop", env=env)
    line = assert_one_line_error(run_cli("server", "start", env={**env, "MODELPORT_PORT": "web"}))
    assert "MODELPORT_PORT" in line and "'web'" in line


def _cli_server(home: Path) -> httpx.Client:
    """`modelport server start` (a daemon, as a user starts it); a client of its API."""
    result = run_cli("server", "start", "-o", "json", env={"MODELPORT_HOME": str(home)})
    assert result.returncode == 0, result.stderr
    url = json.loads(result.stdout)["url"]
    token = (home / "token").read_text().strip()
    return httpx.Client(
        base_url=f"{url}/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=60
    )


def test_server_stop_names_the_replicas_it_leaves_and_services_stops_them(home: Path) -> None:
    env = {"MODELPORT_HOME": str(home)}
    with start_deploy_server(lambda home: _cli_server(home), home) as client:  # type: ignore[arg-type,return-value]
        service = deployed(client, deploy(client, "left-running", script=tagged_script("a")))
        assert service["state"] == "Healthy", service
    scoring_uri = str(service["scoringUri"])

    stopped = run_cli("server", "stop", "-o", "json", env=env)
    assert stopped.returncode == 0, stopped.stderr
    assert json.loads(stopped.stdout)["servicesLeftRunning"] == ["default/left-running"]
    assert "1 replica of 1 service (default/left-running: 1)" in stopped.stderr
    assert "unsupervised" in stopped.stderr and "server stop --services" in stopped.stderr
    assert httpx.post(scoring_uri, json={}, timeout=30).json() == {"revision": "a"}

    with _cli_server(home) as client:  # the next server supervises them again
        assert client.get("/workspaces/default/services/left-running").json()["state"] == "Healthy"
    stopped = run_cli("server", "stop", "--services", "-o", "json", env=env)
    assert stopped.returncode == 0, stopped.stderr
    assert json.loads(stopped.stdout)["servicesStopped"] == ["default/left-running"]
    assert replica_pids(home) == []
    quiet = run_cli("server", "stop", "-o", "json", env=env)
    assert json.loads(quiet.stdout) == {"stopped": False, "home": str(home)}
