"""Bearer-token auth on every route but health; workspaces and their name rule."""

from __future__ import annotations

import os
import stat
import uuid

import httpx

from tests.conftest import ServerProcess


def test_token_file_is_private_and_server_json_describes_the_server(
    workspace_server: ServerProcess,
) -> None:
    mode = stat.S_IMODE(os.stat(workspace_server.home / "token").st_mode)
    assert mode == 0o600
    info = (workspace_server.home / "server.json").read_text()
    assert str(workspace_server.pid) in info and '"host": "127.0.0.1"' in info


def test_missing_or_wrong_token_is_401_with_www_authenticate(
    workspace_server: ServerProcess,
) -> None:
    url = f"{workspace_server.url}/api/v1/workspaces"
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic abc"}):
        r = httpx.get(url, headers=headers)
        assert r.status_code == 401
        assert r.headers["www-authenticate"] == "Bearer"
        assert "token" in r.json()["message"]
    wrong = workspace_server.client(token="not-the-token")
    assert wrong.post("/workspaces/default/models", json={}).status_code == 401


def test_openapi_document_is_served_with_the_token(workspace_server: ServerProcess) -> None:
    assert httpx.get(f"{workspace_server.url}/api/v1/openapi.json").status_code == 401
    doc = workspace_server.client().get("/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    assert "/api/v1/workspaces/{ws}/models" in doc["paths"]


def test_default_workspace_exists_on_first_start(workspace_server: ServerProcess) -> None:
    r = workspace_server.client().get("/workspaces/default")
    assert r.status_code == 200 and r.json()["name"] == "default"


def test_create_show_list_delete_workspace(workspace_server: ServerProcess) -> None:
    c = workspace_server.client()
    name = f"ws_{uuid.uuid4().hex[:8]}"
    r = c.post("/workspaces", json={"name": name, "description": "mine"})
    assert r.status_code == 201 and r.json()["description"] == "mine"
    assert c.post("/workspaces", json={"name": name}).status_code == 409
    assert c.get(f"/workspaces/{name}").json()["id"] == r.json()["id"]
    names = [w["name"] for w in c.get("/workspaces", params={"limit": 1000}).json()["value"]]
    assert name in names and names == sorted(names)
    assert c.delete(f"/workspaces/{name}").status_code == 204
    assert c.get(f"/workspaces/{name}").status_code == 404
    assert c.delete(f"/workspaces/{name}").status_code == 404


def test_workspace_name_rule(workspace_server: ServerProcess) -> None:
    c = workspace_server.client()
    for bad in ("a", "-abc", "x" * 33, "has space", "dot.ted"):
        r = c.post("/workspaces", json={"name": bad})
        assert r.status_code == 400 and "2 to 32 characters" in r.json()["message"], bad
    assert c.post("/workspaces", json={"name": "ab"}).status_code in (201, 409)


def test_workspaces_page_with_cursor(workspace_server: ServerProcess) -> None:
    c = workspace_server.client()
    prefix = uuid.uuid4().hex[:6]
    for i in range(3):
        c.post("/workspaces", json={"name": f"p{prefix}{i}"})
    seen: list[str] = []
    after = None
    while True:
        params = {"limit": 2, **({"after": after} if after else {})}
        page = c.get("/workspaces", params=params).json()
        assert len(page["value"]) <= 2
        seen += [w["name"] for w in page["value"]]
        after = page["next"]
        if after is None:
            break
    assert [n for n in seen if n.startswith(f"p{prefix}")] == [f"p{prefix}{i}" for i in range(3)]
    assert len(seen) == len(set(seen))


def test_unknown_route_is_404_json(workspace_server: ServerProcess) -> None:
    r = workspace_server.client().get("/nothing-here")
    assert r.status_code == 404 and "message" in r.json()
