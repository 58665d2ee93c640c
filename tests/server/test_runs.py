"""Experiments and runs: status, metrics, files, child runs, registering a model from a run."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.conftest import ServerProcess
from tests.server.helpers import WS, all_pages, upload


def _run(c: httpx.Client, experiment: str, **body: Any) -> dict[str, Any]:
    r = c.post(f"{WS}/experiments/{experiment}/runs", json=body)
    assert r.status_code == 201, r.text
    run: dict[str, Any] = r.json()
    return run


def test_run_lifecycle_metrics_and_files(registry: ServerProcess) -> None:
    c = registry.client()
    exp = f"exp-{uuid.uuid4().hex[:6]}"
    run = _run(c, exp, displayName="first")
    assert run["status"] == "Running" and run["id"].startswith(f"{exp}_")
    url = f"{WS}/runs/{run['id']}"
    for name, value in (("acc", 0.5), ("loss", 1.0), ("loss", 0.5), ("note", "ok"), ("flag", True)):
        assert c.post(f"{url}/metrics", json={"name": name, "value": value}).status_code == 201
    assert c.get(f"{url}/metrics").json() == {
        "acc": 0.5,
        "loss": [1.0, 0.5],
        "note": "ok",
        "flag": True,
    }
    entry = upload(c, b"pickle", "outputs/model.pkl")
    assert c.post(f"{url}/files", json={"files": [entry]}).status_code == 201
    assert [f["path"] for f in c.get(f"{url}/files").json()["value"]] == ["outputs/model.pkl"]
    done = c.post(f"{url}/status", json={"status": "Completed"}).json()
    assert done["status"] == "Completed" and done["endTime"] is not None
    assert c.post(f"{url}/status", json={"status": "Failed"}).status_code == 409
    assert exp in [e["name"] for e in all_pages(c, f"{WS}/experiments")]


def test_non_finite_metric_is_400(registry: ServerProcess) -> None:
    c = registry.client()
    run = _run(c, "nan-check")
    body = b'{"name": "x", "value": NaN}'
    r = c.post(
        f"{WS}/runs/{run['id']}/metrics",
        content=body,
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 400


def test_register_model_from_run_file_and_folder(registry: ServerProcess) -> None:
    c = registry.client()
    exp = f"train-{uuid.uuid4().hex[:6]}"
    run = _run(c, exp)
    files = [
        upload(c, b"pkl", "outputs/model.pkl"),
        upload(c, b"a", "outputs/bundle/a.bin"),
        upload(c, b"b", "outputs/bundle/sub/b.bin"),
    ]
    c.post(f"{WS}/runs/{run['id']}/files", json={"files": files})
    name = f"fromrun-{uuid.uuid4().hex[:6]}"
    r = c.post(
        f"{WS}/models", json={"name": name, "runId": run["id"], "assetPath": "outputs/model.pkl"}
    )
    assert r.status_code == 201, r.text
    m = r.json()
    assert (m["runId"], m["experimentName"], m["modelRoot"]) == (run["id"], exp, "model.pkl")
    assert [f["path"] for f in m["files"]] == ["model.pkl"]
    r = c.post(
        f"{WS}/models", json={"name": name, "runId": run["id"], "assetPath": "outputs/bundle"}
    )
    assert r.json()["version"] == 2 and r.json()["modelRoot"] == "bundle"
    assert sorted(f["path"] for f in r.json()["files"]) == ["bundle/a.bin", "bundle/sub/b.bin"]
    by_run = all_pages(c, f"{WS}/models", runId=run["id"])
    assert [x["version"] for x in by_run] == [2, 1]
    missing = c.post(
        f"{WS}/models", json={"name": name, "runId": run["id"], "assetPath": "outputs/nope"}
    )
    assert missing.status_code == 404
    unknown = c.post(f"{WS}/models", json={"name": name, "runId": "no_such_run", "assetPath": "x"})
    assert unknown.status_code == 404


def test_child_runs_and_their_metrics_pick_the_best(registry: ServerProcess) -> None:
    c = registry.client()
    exp = f"sweep-{uuid.uuid4().hex[:6]}"
    parent = _run(c, exp)
    for acc in (0.7, 0.9, 0.8):
        child = _run(c, exp, parentRunId=parent["id"])
        c.post(f"{WS}/runs/{child['id']}/metrics", json={"name": "accuracy", "value": acc})
    children = all_pages(c, f"{WS}/runs", parentRunId=parent["id"], expand="metrics")
    assert len(children) == 3 and all(ch["parentRunId"] == parent["id"] for ch in children)
    best = max(children, key=lambda ch: ch["metrics"]["accuracy"])
    assert best["metrics"] == {"accuracy": 0.9}
    r = c.post(f"{WS}/experiments/{exp}/runs", json={"parentRunId": "missing_1_2"})
    assert r.status_code == 404


def test_unknown_run_is_404(registry: ServerProcess) -> None:
    c = registry.client()
    assert c.get(f"{WS}/runs/nope_1_deadbeef").status_code == 404
    assert c.post(f"{WS}/runs/nope/metrics", json={"name": "a", "value": 1}).status_code == 404
