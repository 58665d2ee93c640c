from __future__ import annotations

import hashlib

from tests.conftest import ServerProcess


def test_health_answers_without_token(workspace_server: ServerProcess) -> None:
    import httpx

    r = httpx.get(f"{workspace_server.url}/api/v1/health")
    assert r.status_code == 200
    assert r.json()["status"] == "ok"


def test_register_and_get_model(workspace_server: ServerProcess) -> None:
    c = workspace_server.client()
    data = b"model bytes"
    sha = hashlib.sha256(data).hexdigest()
    assert c.put(f"/workspaces/default/blobs/{sha}", content=data).status_code in (200, 201)
    body = {"name": "smoke", "files": [{"path": "m.bin", "sha256": sha, "size": len(data)}]}
    r = c.post("/workspaces/default/models", json=body)
    assert r.status_code == 201, r.text
    assert c.get("/workspaces/default/workspaces").status_code == 404
    assert c.get("/workspaces").json()["value"][0]["name"] == "default"
