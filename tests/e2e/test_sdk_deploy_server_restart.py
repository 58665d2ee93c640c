"""The local workspace server dies (kill -9) while a client waits for a deployment: the client
starts it again, the restarted server finishes the deployment, and the wait ends Healthy."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from modelport import InferenceConfig, Model, Workspace
from tests.e2e.deploy_support import kill_leftovers, replica_pids, wait_until
from tests.e2e.sdk_deploy_support import link_env_cache, minimal_environment, write_source

pytestmark = pytest.mark.timeout(600)
SLOW_INIT = "import time\n\ndef init():\n    time.sleep(4)\n\ndef run(raw):\n    return 'ok'\n"


@pytest.fixture
def local_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A MODELPORT_HOME whose server the SDK starts by itself (no MODELPORT_URL)."""
    home = tmp_path / "home"
    link_env_cache(home)
    for var in [v for v in os.environ if v.startswith("MODELPORT_")]:
        monkeypatch.delenv(var)
    monkeypatch.setenv("MODELPORT_HOME", str(home))
    yield home
    # In this process: the server the SDK started is our child, and only we can reap it.
    from modelport.server import daemon

    daemon.stop(home)
    kill_leftovers(home)


def test_wait_survives_a_kill_9_of_the_local_server(local_home: Path, tmp_path: Path) -> None:
    ws = Workspace.get("default")  # starts the local server of MODELPORT_HOME
    first_pid = json.loads((local_home / "server.json").read_text())["pid"]
    write_source(tmp_path / "src", SLOW_INIT)
    config = InferenceConfig(
        entry_script="score.py",
        source_directory=str(tmp_path / "src"),
        environment=minimal_environment(),
    )
    service = Model.deploy(ws, "survivor", [], config)
    os.kill(first_pid, signal.SIGKILL)
    wait_until(lambda: not Path(f"/proc/{first_pid}").exists() or _zombie(first_pid), 10, "death")

    service.wait_for_deployment(timeout_sec=300)  # reconnects: the client restarts the server
    assert service.state == "Healthy"
    assert service.run("x") == "ok"
    second_pid = json.loads((local_home / "server.json").read_text())["pid"]
    assert second_pid != first_pid
    service.delete()
    wait_until(lambda: not replica_pids(local_home), 20, "no replica left")


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True
