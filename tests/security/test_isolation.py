"""No route lets one workspace read or change another's objects: models, runs, runs' files used
by reference, environments, services, their keys, tokens, logs and operations."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from modelport.targets.local import isolation
from tests.conftest import ServerProcess
from tests.e2e.deploy_support import MINIMAL, wait_until
from tests.security.support import sha

SCRIPT = "def init():\n    pass\n\ndef run(raw):\n    return {'ok': True}\n"
A, B = "/workspaces/alpha", "/workspaces/beta"


def _upload(c: httpx.Client, ws: str, data: bytes, path: str) -> dict[str, Any]:
    assert c.put(f"{ws}/blobs/{sha(data)}", content=data).status_code in (200, 201)
    return {"path": path, "sha256": sha(data), "size": len(data)}


@pytest.fixture(scope="module")
def world(
    deploy_server: ServerProcess,
) -> Iterator[tuple[ServerProcess, dict[str, Any]]]:
    server = deploy_server  # tests/security/conftest.py: shared; its services deleted below
    c = server.client()
    for ws in ("alpha", "beta"):
        assert c.post("/workspaces", json={"name": ws}).status_code == 201
    model = c.post(
        f"{A}/models", json={"name": "m", "files": [_upload(c, A, b"alpha-weights", "m.bin")]}
    ).json()
    run = c.post(f"{A}/experiments/exp/runs", json={}).json()
    out = _upload(c, A, b"run-output", "outputs/model.bin")
    assert c.post(f"{A}/runs/{run['id']}/files", json={"files": [out]}).status_code == 201
    env = {
        "name": "alpha-env",
        "version": None,
        "python": {"userManagedDependencies": True, "interpreterPath": "python"},
    }
    assert c.post(f"{A}/environments", json=env).status_code == 201
    r = c.post(
        f"{A}/services",
        json={
            "name": "svc",
            "models": ["m:1"],
            "inferenceConfig": {"entryScript": "score.py"},
            "sourceSnapshot": {"files": [_upload(c, A, SCRIPT.encode(), "score.py")]},
            "environment": MINIMAL,
            "deploymentConfig": {"computeType": "local", "authEnabled": True},
        },
    )
    assert r.status_code == 202, r.text
    op = r.json()["operation"]["id"]
    wait_until(
        lambda: c.get(f"{A}/operations/{op}").json()["state"] != "Running", 240, "the deploy"
    )
    keys = c.post(f"{A}/services/svc/listKeys").json()
    yield server, {"model": model, "run": run, "op": op, "keys": keys}
    c.delete(f"{A}/services/svc")
    wait_until(lambda: c.get(f"{A}/services/svc").status_code == 404, 60, "the delete")


def test_objects_of_one_workspace_are_404_through_another(
    world: tuple[ServerProcess, dict[str, Any]],
) -> None:
    server, objs = world
    c = server.client()
    run_id = objs["run"]["id"]
    attempts: list[tuple[str, str, dict[str, Any] | None]] = [
        ("GET", f"{B}/models/m/versions/1", None),
        ("GET", f"{B}/models/m/versions/latest", None),
        ("PATCH", f"{B}/models/m/versions/1", {"description": "pwned"}),
        ("DELETE", f"{B}/models/m/versions/1", None),
        ("GET", f"{B}/runs/{run_id}", None),
        ("GET", f"{B}/runs/{run_id}/files", None),
        ("GET", f"{B}/runs/{run_id}/metrics", None),
        ("POST", f"{B}/runs/{run_id}/metrics", {"name": "x", "value": 1}),
        ("POST", f"{B}/runs/{run_id}/status", {"status": "Failed"}),
        ("POST", f"{B}/runs/{run_id}/files", {"files": []}),
        ("POST", f"{B}/models", {"name": "stolen", "runId": run_id, "assetPath": "outputs"}),
        ("GET", f"{B}/environments/alpha-env/versions/1", None),
        ("PUT", f"{B}/environments/alpha-env/versions/1/lock", {"lock": "x==1"}),
        ("GET", f"{B}/services/svc", None),
        ("PATCH", f"{B}/services/svc", {"description": "pwned"}),
        ("DELETE", f"{B}/services/svc", None),
        ("POST", f"{B}/services/svc/reload", {}),
        ("POST", f"{B}/services/svc/listKeys", None),
        ("POST", f"{B}/services/svc/regenerateKeys", {"keyType": "Primary"}),
        ("POST", f"{B}/services/svc/token", None),
        ("GET", f"{B}/services/svc/logs", None),
        ("GET", f"{B}/services/svc/operations", None),
        ("GET", f"{B}/operations/{objs['op']}", None),
    ]
    for method, url, body in attempts:
        r = c.request(method, url, json=body)
        # 404 for the object, or 400/404 for a reference that does not resolve in beta
        if url.endswith("/operations") and r.status_code == 200:
            assert r.json()["value"] == [], r.text  # an empty list leaks nothing
            continue
        assert r.status_code == 404 or (r.status_code == 400 and method in ("POST", "PUT")), (
            method,
            url,
            r.status_code,
            r.text,
        )
    # references from beta to alpha's objects do not resolve either
    deploy = c.post(
        f"{B}/services",
        json={"name": "thief", "models": ["m:1"], "inferenceConfig": None},
    )
    assert deploy.status_code == 404, deploy.text
    env_ref = c.post(
        f"{B}/services",
        json={
            "name": "thief2",
            "models": [],
            "inferenceConfig": {"entryScript": "score.py"},
            "sourceSnapshot": {"files": [_upload(c, B, SCRIPT.encode(), "score.py")]},
            "environment": {"name": "alpha-env", "version": "1"},
        },
    )
    assert env_ref.status_code in (400, 404), env_ref.text
    # beta's lists show none of alpha's objects
    for url in ("models", "runs", "services", "environments?name=alpha-env", "experiments"):
        page = c.get(f"{B}/{url}").json()
        names = [v.get("name") or v.get("id") for v in page["value"]]
        assert not {"m", run_id, "svc", "alpha-env", "exp"} & set(names), (url, names)
    print(f"\n[campaign] cross-workspace attempts refused: {len(attempts) + 2 + 5}")


def test_alpha_objects_are_unchanged_after_the_attempts(
    world: tuple[ServerProcess, dict[str, Any]],
) -> None:
    server, objs = world
    c = server.client()
    test_objects_of_one_workspace_are_404_through_another(world)
    model = c.get(f"{A}/models/m/versions/1").json()
    assert model["description"] == objs["model"]["description"]
    run = c.get(f"{A}/runs/{objs['run']['id']}").json()
    assert run["status"] == "Running"
    assert c.get(f"{A}/runs/{objs['run']['id']}/metrics").json() == {}
    svc = c.get(f"{A}/services/svc").json()
    assert svc["description"] != "pwned" and svc["state"] == "Healthy", svc
    assert c.post(f"{A}/services/svc/listKeys").json() == objs["keys"]
    assert c.get(f"{A}/environments/alpha-env/versions/1").json()["lock"] is None
    assert c.get("/workspaces/beta/models").json()["value"] == []


def test_deleting_a_workspace_keeps_the_other_intact(
    world: tuple[ServerProcess, dict[str, Any]],
) -> None:
    server, _objs = world
    c = server.client()
    assert c.post("/workspaces", json={"name": "gamma"}).status_code == 201
    g = "/workspaces/gamma"
    entry = _upload(c, g, b"alpha-weights", "m.bin")  # the same bytes as alpha's model
    assert c.post(f"{g}/models", json={"name": "m", "files": [entry]}).status_code == 201
    assert c.delete(g).status_code == 204
    # alpha's model, sharing the content-addressed blob, is still downloadable
    files = c.get(f"{A}/models/m/versions/1").json()["files"]
    assert c.get(f"{A}/blobs/{files[0]['sha256']}").content == b"alpha-weights"


def test_service_show_says_why_replicas_share_the_servers_user(
    world: tuple[ServerProcess, dict[str, Any]],
) -> None:
    """This server's home is below pytest's 0700 directory, so its replicas cannot have users of
    their own (tests/security/test_replica_box.py is the case where they can)."""
    server, _objs = world
    note = server.client().get(f"{A}/services/svc").json()["replicaUser"]
    if isolation.enabled():
        assert note.startswith("replicas run as the server's user: "), note
        assert "is not traversable by other users" in note, note
        # and the server said so at start, with how to move the home
        log = (server.home / "server.log").read_text(errors="replace")
        assert "replicas will run as the server's user, not users of their own: " in log
        assert "move the home to /var/lib/modelport" in log
    else:
        assert note == isolation.shared_note(), note
