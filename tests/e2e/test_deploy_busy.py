"""Through the CLI and a real replica: a run() busy for 15 s (on the event loop, under a 1 s
liveness probe) is answered, not killed; the service runs under a CPU quota and a memory limit
(cgroups where the host has them), and `service get-logs` says what the supervisor saw."""

from __future__ import annotations

import http.client
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.conftest import ServerProcess
from tests.e2e import sdk_deploy_support as fixtures
from tests.e2e.deploy_support import wait_until
from tests.e2e.sdk_deploy_support import cli
from tests.targets.test_busy import BUSY_SCRIPT

deploy_server = fixtures.deploy_server
pytestmark = pytest.mark.timeout(300)


def test_a_long_run_is_busy_not_hung_and_the_logs_say_so(
    deploy_server: ServerProcess, tmp_path: Path
) -> None:
    (tmp_path / "source").mkdir()
    (tmp_path / "source" / "score.py").write_text(BUSY_SCRIPT)
    # a generous inline budget: on a loaded host 2 ms calls would keep run() on threads
    env = {"name": "busy-env", "environmentVariables": {"MODELPORT_INLINE_RUN_BUDGET_MS": "200"}}
    ic = {"entryScript": "score.py", "sourceDirectory": "source", "environment": env}
    dc = {
        "computeType": "local",
        "containerResourceRequirements": {"cpu": 1, "memoryInGB": 0.5},
        "scoringTimeoutMs": 60000,
        "livenessProbeRequirements": {"periodSeconds": 1, "timeoutSeconds": 1,
                                      "failureThreshold": 2},
    }  # fmt: skip
    (tmp_path / "ic.json").write_text(json.dumps(ic))
    (tmp_path / "dc.json").write_text(json.dumps(dc))
    proc = cli(deploy_server, ["model", "deploy", "-n", "busy-svc", "--ic", "ic.json",
                               "--dc", "dc.json", "-o", "json"], tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    shown = json.loads(proc.stdout)
    [replica] = shown["replicas"]
    assert "cpu quota 1 cores" in replica["limits"] or "cpus" in replica["limits"]
    assert "memory 0.50 GiB" in replica["limits"] and "rlimit" not in replica["limits"]

    url = urlsplit(shown["scoringUri"])
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=120)
    for _ in range(40):  # quick calls: run() qualifies for the event loop
        conn.request("POST", url.path, body=b'{"busy": 0}')
        assert conn.getresponse().read()
    conn.request("POST", url.path, body=b'{"busy": 15}')
    answer = conn.getresponse()
    assert answer.status == 200 and json.loads(answer.read()) == {"busy": 15}
    conn.close()

    def shown_now() -> dict[str, Any]:
        return dict(json.loads(cli(deploy_server, ["service", "show", "-n", "busy-svc",
                                                   "-o", "json"], tmp_path).stdout))  # fmt: skip

    # while run() was busy the replica did not answer its health port (not ready, so the
    # service read Unhealthy); the first probe after run() returns makes it Healthy again
    wait_until(lambda: shown_now()["state"] == "Healthy", 60, "busy-svc Healthy again")
    after = shown_now()
    assert [(r["pid"], r["restarts"]) for r in after["replicas"]] == [(replica["pid"], 0)]
    logs = cli(deploy_server, ["service", "get-logs", "-n", "busy-svc", "-l", "200"], tmp_path)
    assert "busy inside run()" in logs.stdout, logs.stdout[-2000:]
    assert cli(deploy_server, ["service", "delete", "-n", "busy-svc"], tmp_path).returncode == 0
