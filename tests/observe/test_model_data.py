"""Model data collection end to end: ModelDataCollector in a real replica, v1's CSV layout, the
CLI reading it back joined by request id, and `service update --collect-model-data false`."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from modelport.server.observe import modeldata
from tests.conftest import ServerProcess
from tests.e2e.deploy_support import WS, deploy, deployed, register_model
from tests.observe.receiver import receiver

SCRIPT = """
import os
from azureml.monitoring import ModelDataCollector

def init():
    global inputs_dc, prediction_dc
    inputs_dc = ModelDataCollector("tiny", designation="inputs", feature_names=["a", "b"])
    prediction_dc = ModelDataCollector("tiny", designation="predictions", feature_names=["label"])

def run(raw):
    import json
    rows = json.loads(raw)["data"]
    correlation = inputs_dc.collect(rows)
    labels = [[a + b] for a, b in rows]
    prediction_dc.collect(labels)
    return {"labels": labels, "correlation": correlation["$aml_dc_correlation_id"],
            "collecting": os.environ["AML_MODEL_DC_STORAGE_ENABLED"]}
"""


def _cli(server: ServerProcess, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**server.env, "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    return subprocess.run([sys.executable, "-m", "modelport.cli.main", *args],
                          capture_output=True, text=True, env=env, timeout=120)  # fmt: skip


def _rows(server: ServerProcess, *extra: str) -> list[dict[str, str]]:
    out = _cli(server, "service", "data", "-n", "collect", "--designation", "inputs", *extra)
    assert out.returncode == 0, out.stderr
    return list(csv.DictReader(io.StringIO(out.stdout)))


def _poll_rows(server: ServerProcess, n: int, *extra: str) -> list[dict[str, str]]:
    deadline = time.monotonic() + 30
    while True:
        rows = _rows(server, *extra)
        if len(rows) >= n or time.monotonic() > deadline:
            return rows
        time.sleep(0.2)  # poll interval, bounded by the deadline


def test_collected_rows_land_in_v1_layout_and_join_by_request_id(server: ServerProcess) -> None:
    client = server.client()
    with receiver() as hooks:
        client.post(f"{WS}/webhooks", json={
            "name": "deploys", "url": f"{hooks.url}/d", "subjectBeginsWith": "endpoints/collect",
            "eventTypes": ["ModelDeployed", "ServiceStateChanged"]}).raise_for_status()  # fmt: skip
        _deploy_collect_and_update(server, client)
        # deploy: -> Healthy, ModelDeployed; update: Healthy -> Transitioning -> Healthy, ModelDeployed
        hooks.wait(lambda: len(hooks.at("/d")) >= 5, "deploy events")
        events = [c.json[0] for c in hooks.at("/d")]
        deployed_events = [e for e in events if e["eventType"].endswith("ModelDeployed")]
        assert len(deployed_events) == 2
        assert deployed_events[0]["data"] == {
            "ServiceName": "collect", "ServiceComputeType": "local", "ModelIds": "tiny:1",
            "ServiceTags": {}, "ServiceProperties": deployed_events[0]["data"]["ServiceProperties"]}  # fmt: skip
        states = [(e["data"]["PreviousState"], e["data"]["State"]) for e in events
                  if e["eventType"] == "Modelport.ServiceStateChanged"]  # fmt: skip
        assert ("Transitioning", "Healthy") in states and ("Healthy", "Transitioning") in states


def _deploy_collect_and_update(server: ServerProcess, client: httpx.Client) -> None:
    register_model(client, "tiny", "tiny.txt", b"tiny model")
    config = {"computeType": "local", "dataCollection": {"storageEnabled": True}}
    svc = deployed(
        client, deploy(client, "collect", models=["tiny:1"], script=SCRIPT, config=config)
    )
    assert svc["state"] == "Healthy", svc
    uri = svc["scoringUri"]
    for i, rid in enumerate(("dc-req-1", "dc-req-2")):
        r = httpx.post(uri, json={"data": [[i, 10], [i, 20]]}, headers={"x-request-id": rid})
        assert r.status_code == 200 and r.json()["correlation"] == rid, r.text

    rows = _poll_rows(server, 4, "--join", "predictions")
    assert [(r["$aml_dc_correlation_id"], r["a"], r["b"]) for r in rows][:2] == [
        ("dc-req-1", "0", "10"), ("dc-req-1", "0", "20")]  # fmt: skip
    # every input row of a request carries that request's predictions
    assert {r["predictions.label"] for r in rows if r["$aml_dc_correlation_id"] == "dc-req-2"} == {
        "11", "21"}  # fmt: skip
    day = time.strftime("%Y/%m/%d", time.gmtime())
    layout = server.home / "artifacts" / "modeldata" / "default" / "collect" / "tiny" / "1"
    assert (layout / "inputs" / day / "data.csv").is_file()
    assert (layout / "predictions" / day / "data.csv").is_file()

    target = server.home.parent / "inputs.parquet"
    out = _cli(
        server, "service", "data", "-n", "collect", "--format", "parquet", "--file", str(target)
    )
    try:
        import pyarrow  # noqa: F401
    except ImportError:  # one readable line naming what is missing
        assert out.returncode != 0 and "pyarrow" in out.stderr and "Traceback" not in out.stderr
    else:
        import pandas as pd

        assert out.returncode == 0 and len(pd.read_parquet(target)) == 4
    answer = client.get(f"{WS}/services/collect/data", params={"designation": "../x"})
    assert answer.status_code == 400 and "designation" in answer.json()["message"]

    # --collect-model-data false: a rolling update after which nothing more is stored
    out = _cli(server, "service", "update", "-n", "collect", "--collect-model-data", "false")
    assert out.returncode == 0, out.stderr
    svc = client.get(f"{WS}/services/collect").json()
    assert svc["deploymentConfig"]["dataCollection"]["storageEnabled"] is False
    r = httpx.post(svc["scoringUri"], json={"data": [[5, 5]]}, headers={"x-request-id": "dc-off"})
    assert r.status_code == 200 and r.json()["correlation"] == "dc-off"
    # the new replicas' collectors are off (the script reports the switch it was given)
    assert r.json()["collecting"] == "false"
    assert "dc-off" not in {r["$aml_dc_correlation_id"] for r in _rows(server)}
    bad = _cli(server, "service", "update", "-n", "collect", "--collect-model-data", "maybe")
    assert (
        bad.returncode != 0 and "not true or false" in bad.stderr and "Traceback" not in bad.stderr
    )


def test_a_partial_last_line_is_cut_before_the_next_append(tmp_path: Path) -> None:
    rec: dict[str, Any] = {"time": time.time(), "requestId": "r1", "model": "m", "version": "1",
                           "designation": "inputs", "columns": ["x"], "rows": [[1]]}  # fmt: skip
    assert modeldata.write_batch(tmp_path, "ws", "svc", [rec]) == 1
    (path,) = (tmp_path / "modeldata").rglob("data.csv")
    with path.open("ab") as f:
        f.write(b"2026-12-05T00:00:00+00:00,r-killed,4")  # a crash in the middle of a row
    modeldata.write_batch(tmp_path, "ws", "svc", [{**rec, "requestId": "r2", "rows": [[2]]}])
    lines = path.read_text().splitlines()
    assert [line.split(",")[1:] for line in lines] == [
        ["$aml_dc_correlation_id", "x"], ["r1", "1"], ["r2", "2"]]  # fmt: skip


def test_numpy_arrays_and_dataframes_become_rows() -> None:
    import numpy as np
    import pandas as pd

    from modelport.compat.monitoring import to_rows

    assert to_rows(np.array([[1, 2], [3, 4]]), ["a", "b"]) == (["a", "b"], [[1, 2], [3, 4]])
    assert to_rows(np.array([1.5, 2.5]), None) == (["feature_0", "feature_1"], [[1.5, 2.5]])
    assert to_rows(pd.DataFrame({"x": [1, 2], "y": [3, 4]}), None) == (["x", "y"], [[1, 3], [2, 4]])
    assert to_rows([{"p": 1}, {"p": 2}], None) == (["p"], [[1], [2]])
