"""Deployment-config settings reach the replicas through the one config → target mapping
(modelport.targets.from_config): request limits as variables, ACI's default limits."""

from __future__ import annotations

import httpx

from tests.conftest import ServerProcess
from tests.e2e.deploy_support import (
    delete_and_wait,
    deploy,
    deployed,
    module_server,
    replica_pids,
)

server = module_server("settings")


SLOW_RUN = """
import time

def init():
    pass

def run(raw):
    if raw == "slow":
        time.sleep(3)
    return "done"
"""


def _environ(pid: int) -> dict[str, str]:
    with open(f"/proc/{pid}/environ", "rb") as f:
        pairs = [p.split(b"=", 1) for p in f.read().split(b"\0") if b"=" in p]
    return {k.decode(): v.decode(errors="replace") for k, v in pairs}


def test_scoring_timeout_reaches_the_replica(server: ServerProcess) -> None:
    client = server.client()
    # margins that hold on 2 busy cores: the fast request has 1.5 s, the slow one sleeps 3 s
    config = {"computeType": "local", "scoringTimeoutMs": 1500, "maxQueueWaitMs": 5000}
    service = deployed(client, deploy(client, "timeout-svc", script=SLOW_RUN, config=config))
    assert service["state"] == "Healthy", service
    (pid,) = replica_pids(server.home)
    env = _environ(pid)
    assert env["MODELPORT_SCORING_TIMEOUT_MS"] == "1500"
    assert env["MODELPORT_MAX_QUEUE_WAIT_MS"] == "5000"
    assert httpx.post(service["scoringUri"], content=b"fast", timeout=10).json() == "done"
    slow = httpx.post(service["scoringUri"], content=b"slow", timeout=10)
    assert slow.status_code == 504, slow.text
    delete_and_wait(client, "timeout-svc")


def test_aci_defaults_apply_without_explicit_limits(server: ServerProcess) -> None:
    client = server.client()
    script = "def init(): pass\ndef run(x): return 'aci'\n"
    service = deployed(client, deploy(client, "aci-defaults", script=script,
                                      config={"computeType": "ACI"}))  # fmt: skip
    assert service["state"] == "Healthy", service
    (replica,) = service["replicas"]
    limits = replica["limits"] or ""
    # ACI's defaults: 0.1 CPU and 0.5 GB per replica (cgroup v2: quota/max; else notes of the
    # affinity + address-space fallback, which floors memory at 1 GiB)
    assert "0.1 core" in limits, limits
    assert "0.5 GB" in limits or "memory 0.50 GiB" in limits, limits
    (pid,) = replica_pids(server.home)
    # the liveness/request defaults declared for ACI reach the replica too
    assert _environ(pid)["MODELPORT_SCORING_TIMEOUT_MS"] == "60000"
    assert httpx.post(service["scoringUri"], content=b"{}", timeout=10).json() == "aci"
    delete_and_wait(client, "aci-defaults")
