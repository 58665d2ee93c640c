"""The main routes of the workspace server's API, in process: contract, status codes, messages."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import httpx

from tests.server.api.conftest import client_for
from tests.server.helpers import WS, all_pages, register, upload


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _message(response: httpx.Response, status: int) -> str:
    """A refusal is the status and one ``{"message": ...}`` naming the problem."""
    assert response.status_code == status, (response.status_code, response.text)
    body = response.json()
    assert set(body) >= {"message"} and isinstance(body["message"], str), body
    return str(body["message"])


def test_health_is_open_and_everything_else_needs_the_token(
    api: httpx.Client, api_token: tuple[httpx.BaseTransport, str]
) -> None:
    assert api.get("/health").json()["status"] == "ok"
    with client_for(api_token[0], None) as anonymous:
        assert anonymous.get("/health").status_code == 200
        assert "token" in _message(anonymous.get("/workspaces"), 401).lower()
    with client_for(api_token[0], "not-the-token") as wrong:
        _message(wrong.get("/openapi.json"), 401)
    paths = api.get("/openapi.json").json()["paths"]
    assert len(paths) >= 20 and "/api/v1/workspaces/{ws}/services" in paths


def test_workspaces_create_list_show_delete(api: httpx.Client) -> None:
    name = _name("ws")
    created = api.post("/workspaces", json={"name": name, "description": "tier"})
    assert created.status_code == 201, created.text
    assert name in _message(api.post("/workspaces", json={"name": name}), 409)
    assert name in [w["name"] for w in all_pages(api, "/workspaces")]
    assert api.get(f"/workspaces/{name}").json()["description"] == "tier"
    assert api.delete(f"/workspaces/{name}").status_code in (200, 202, 204)
    assert name in _message(api.get(f"/workspaces/{name}"), 404)
    _message(api.post("/workspaces", json={"name": "bad name!"}), 400)


def test_blobs_are_content_addressed(api: httpx.Client) -> None:
    data = uuid.uuid4().bytes * 100
    sha = hashlib.sha256(data).hexdigest()
    assert api.head(f"{WS}/blobs/{sha}").status_code == 404
    upload(api, data)
    assert api.head(f"{WS}/blobs/{sha}").status_code == 200
    assert api.get(f"{WS}/blobs/{sha}").content == data
    _message(api.put(f"{WS}/blobs/{'0' * 64}", content=b"not that"), 400)


def test_models_register_list_update_delete(api: httpx.Client) -> None:
    name = _name("model")
    first = register(api, name, b"v1", tags={"team": "a"})
    second = register(api, name, b"v2", tags={"team": "b"}, description="second")
    assert (first["version"], second["version"]) == (1, 2)
    url = f"{WS}/models/{name}/versions"
    assert api.get(f"{url}/latest").json()["version"] == 2
    assert [m["version"] for m in all_pages(api, f"{WS}/models", name=name, tags="team=a")] == [1]
    patched = api.patch(f"{url}/1", json={"tags": {"team": "c"}, "description": "first"})
    assert patched.status_code == 200, patched.text
    assert api.get(f"{url}/1").json()["tags"]["team"] == "c"
    assert api.delete(f"{url}/1").status_code in (200, 204)
    _message(api.get(f"{url}/1"), 404)
    _message(api.post(f"{WS}/models", json={"name": name, "files": []}), 400)
    _message(api.post(f"{WS}/models", json={"name": "bad name!", "files": []}), 400)


def test_runs_metrics_files_status(api: httpx.Client) -> None:
    experiment = _name("exp")
    run: dict[str, Any] = api.post(f"{WS}/experiments/{experiment}/runs", json={}).json()
    url = f"{WS}/runs/{run['id']}"
    assert api.post(f"{url}/metrics", json={"name": "acc", "value": 0.9}).status_code == 201
    assert api.get(f"{url}/metrics").json() == {"acc": 0.9}
    entry = upload(api, b"weights", "outputs/model.pkl")
    assert api.post(f"{url}/files", json={"files": [entry]}).status_code == 201
    assert api.post(f"{url}/status", json={"status": "Completed"}).json()["status"] == "Completed"
    _message(api.post(f"{url}/status", json={"status": "Failed"}), 409)
    model = api.post(
        f"{WS}/models", json={"name": _name("fromrun"), "runId": run["id"], "assetPath": "outputs"}
    )
    assert model.status_code == 201 and model.json()["runId"] == run["id"], model.text
    _message(api.get(f"{WS}/runs/{experiment}_nope"), 404)


def test_environments_register_list_show(api: httpx.Client) -> None:
    name = _name("env")
    spec = {"name": name, "environmentVariables": {"K": "v"}}
    created = api.post(f"{WS}/environments", json=spec)
    assert created.status_code == 201, created.text
    version = created.json()["version"]
    assert api.get(f"{WS}/environments/{name}/versions/{version}").json()["name"] == name
    assert name in [e["name"] for e in all_pages(api, f"{WS}/environments", name=name)]
    _message(api.post(f"{WS}/environments", json={"name": "AzureML-mine"}), 400)
    _message(api.get(f"{WS}/environments/{name}/versions/99"), 404)


def test_services_refusals_name_the_problem_and_create_nothing(api: httpx.Client) -> None:
    before = api.get(f"{WS}/services").json()
    assert set(before) >= {"value"}
    model = register(api, _name("svcmodel"), b"weights")
    body = {"name": "Bad_Name", "models": [model["id"]], "inferenceConfig": None}
    assert "name" in _message(api.post(f"{WS}/services", json=body), 400).lower()
    body = {"name": _name("svc"), "models": ["nope:1"], "inferenceConfig": None}
    _message(api.post(f"{WS}/services", json=body), 404)
    config = {"computeType": "local", "numReplica": 2}
    body = {"name": _name("svc"), "models": [model["id"]], "deploymentConfig": config}
    assert "numReplicas" in _message(api.post(f"{WS}/services", json=body), 400)
    config = {"computetype": "local"}
    body = {"name": _name("svc"), "models": [model["id"]], "deploymentConfig": config}
    assert "did you mean 'computeType'" in _message(api.post(f"{WS}/services", json=body), 400)
    _message(api.get(f"{WS}/services/absent-svc"), 404)
    _message(api.get(f"{WS}/operations/absent-op"), 404)
    _message(api.patch(f"{WS}/services/absent-svc", json={"description": "x"}), 404)
    assert api.get(f"{WS}/services").json()["value"] == before["value"]
