"""Metrics across replicas: the server scrapes both replicas of a service, keeps a history
(API, CLI with its chart) and exposes every replica on one /metrics with service labels."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import Any

import httpx

from tests.conftest import ServerProcess
from tests.e2e.deploy_support import WS, deploy, deployed

SCRIPT = """
def init():
    pass

def run(raw):
    return {"ok": True}
"""


def test_history_and_one_prometheus_endpoint_cover_every_replica(server: ServerProcess) -> None:
    client = server.client()
    config = {"computeType": "local", "numReplicas": 2}
    svc = deployed(client, deploy(client, "metered", script=SCRIPT, config=config))
    assert svc["state"] == "Healthy", svc
    with httpx.Client() as http:  # a new connection per request: both replicas get some
        for _ in range(40):
            assert (
                http.post(
                    svc["scoringUri"], content=b"{}", headers={"Connection": "close"}
                ).status_code
                == 200
            )

    deadline = time.monotonic() + 30
    points: list[dict[str, Any]] = []
    while sum(p["requests"] for p in points) < 40 and time.monotonic() < deadline:
        time.sleep(0.25)  # poll interval, bounded by the deadline
        points = client.get(f"{WS}/services/metered/metrics", params={"since": "10m"}).json()[
            "points"
        ]
    assert sum(p["requests"] for p in points) == 40, points
    busy = [p for p in points if p["requests"]]
    assert all(p["p95Ms"] is not None and p["p95Ms"] >= p["p50Ms"] > 0 for p in busy)
    assert points[-1]["replicas"] == 2 and points[-1]["errors"] == 0

    text = client.get("/metrics").text
    for replica in ("0", "1"):
        assert (f'modelport_requests_total{{workspace="default",service="metered",revision="1",'
                f'replica="{replica}",route="score",status="200"}}') in text  # fmt: skip
    assert text.count("# TYPE modelport_requests_total counter") == 1
    assert "# TYPE modelport_telemetry_dropped_total counter" in text
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    root = httpx.get(f"{server.url}/metrics", headers={"Authorization": f"Bearer {server.token}"})
    assert root.status_code == 200 and 'service="metered"' in root.text
    assert httpx.get(f"{server.url}/metrics").status_code == 401

    env = {**server.env, "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    out = subprocess.run([sys.executable, "-m", "modelport.cli.main", "service", "metrics", "-n", "metered"],
                         capture_output=True, text=True, env=env, timeout=60)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("requests/s ") and "p95 ms" in out.stdout
