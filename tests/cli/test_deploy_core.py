"""Issue 9's behaviours through the real CLI and SDK against real servers and replicas:
MODELPORT_PORT, partial ``service update --dc``, ``Model.deploy(overwrite=True)`` over a Failed
service, ``service show -o json``, and what ``server stop`` says about the replicas it leaves."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from modelport.server import daemon
from tests.cli.conftest import assert_one_line_error, run_cli
from tests.e2e.deploy_support import (
    MINIMAL,
    deploy,
    deployed,
    kill_leftovers,
    replica_pids,
    start_deploy_server,
    tagged_script,
    wait_state,
)
from tests.serving.conftest import free_port

SERVICE = "core-svc"


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


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, httpx.Client]]:
    """A CLI-started server of its own home with one Healthy service."""
    home = tmp_path_factory.mktemp("core") / "home"
    client = start_deploy_server(lambda home: _cli_server(home), home)  # type: ignore[arg-type,return-value]
    service = deployed(client, deploy(client, SERVICE, script=tagged_script("a")))
    assert service["state"] == "Healthy", service
    yield home, client
    client.close()
    daemon.stop(home)
    kill_leftovers(home)


def test_service_show_json_has_every_api_field(served: tuple[Path, httpx.Client]) -> None:
    home, client = served
    shown = run_cli(
        "service", "show", "-n", SERVICE, "-o", "json", env={"MODELPORT_HOME": str(home)}
    )
    assert shown.returncode == 0, shown.stderr
    api = client.get(f"/workspaces/default/services/{SERVICE}").json()
    assert set(api) <= set(json.loads(shown.stdout)), set(api) - set(json.loads(shown.stdout))


def test_partial_dc_is_laid_over_and_a_miscased_key_gets_a_hint(
    served: tuple[Path, httpx.Client], tmp_path: Path
) -> None:
    home, client = served
    env = {"MODELPORT_HOME": str(home)}
    (tmp_path / "two.json").write_text(json.dumps({"numReplicas": 2}))
    updated = run_cli(
        "service", "update", "-n", SERVICE, "--dc", str(tmp_path / "two.json"), env=env
    )
    assert updated.returncode == 0, updated.stderr
    service = client.get(f"/workspaces/default/services/{SERVICE}").json()
    assert service["numReplicas"] == 2 and service["state"] == "Healthy", service
    (tmp_path / "typo.json").write_text(json.dumps({"computetype": "local", "numReplicas": 1}))
    line = assert_one_line_error(
        run_cli("service", "update", "-n", SERVICE, "--dc", str(tmp_path / "typo.json"), env=env)
    )
    assert "did you mean 'computeType'?" in line, line


def test_overwrite_of_a_failed_service_returns_the_new_operation_state(
    served: tuple[Path, httpx.Client], tmp_path: Path
) -> None:
    from modelport import InferenceConfig, Model
    from modelport.sdk._http import Client
    from modelport.sdk.workspace import Workspace

    _, client = served
    failing = "def init():\n    raise RuntimeError('no model')\n\ndef run(raw):\n    return raw\n"
    broken = deployed(client, deploy(client, "core-broken", script=failing))
    assert broken["state"] == "Failed", broken
    (tmp_path / "score.py").write_text(tagged_script("fixed"))
    ws = Workspace("default", _client=Client.resolve(str(client.base_url).removesuffix("/api/v1"),
                                                     client.headers["Authorization"][7:]))  # fmt: skip
    config = InferenceConfig(entry_script="score.py", source_directory=str(tmp_path))
    service = Model.deploy(ws, "core-broken", [], config, overwrite=True, environment=MINIMAL)
    assert service.state == "Transitioning"  # the new operation's, not the replaced "Failed"
    service.wait_for_deployment(timeout_sec=240)
    assert service.state == "Healthy"
    service.delete()


def test_server_stop_names_the_replicas_it_leaves_and_services_stops_them(
    served: tuple[Path, httpx.Client],
) -> None:
    home, client = served
    env = {"MODELPORT_HOME": str(home)}
    scoring_uri = client.get(f"/workspaces/default/services/{SERVICE}").json()["scoringUri"]
    stopped = run_cli("server", "stop", "-o", "json", env=env)
    assert stopped.returncode == 0, stopped.stderr
    assert json.loads(stopped.stdout)["servicesLeftRunning"] == [f"default/{SERVICE}"]
    assert f"2 replicas of 1 service (default/{SERVICE}: 2)" in stopped.stderr
    assert "unsupervised" in stopped.stderr and "server stop --services" in stopped.stderr
    assert httpx.post(scoring_uri, json={}, timeout=30).json() == {"revision": "a"}

    with _cli_server(home) as again:  # the next server adopts them: Healthy once it has probed
        wait_state(again, SERVICE, ("Healthy",), timeout=60)
    stopped = run_cli("server", "stop", "--services", "-o", "json", env=env)
    assert stopped.returncode == 0, stopped.stderr
    assert json.loads(stopped.stdout)["servicesStopped"] == [f"default/{SERVICE}"]
    assert replica_pids(home) == []
    quiet = run_cli("server", "stop", "-o", "json", env=env)
    assert json.loads(quiet.stdout) == {"stopped": False, "home": str(home)}


def test_empty_telemetry_says_why_on_a_table_and_stays_an_empty_list_in_json(
    served: tuple[Path, httpx.Client],
) -> None:
    env = {"MODELPORT_HOME": str(served[0])}
    table = run_cli("service", "telemetry", "-n", SERVICE, env=env)
    assert table.returncode == 0, table.stderr
    assert table.stdout == ""
    assert table.stderr.strip() == (
        f"No telemetry: service {SERVICE} does not record it (appInsightsEnabled is off). "
        f"Turn it on with `modelport service update -n {SERVICE} --ai true`."
    )
    as_json = run_cli("service", "telemetry", "-n", SERVICE, "-o", "json", env=env)
    assert as_json.returncode == 0, as_json.stderr
    assert (json.loads(as_json.stdout), as_json.stderr) == ([], "")
