"""Environment variables and a registry password of an environment spec: encrypted in the
database, masked in every API answer, in clear only on the deploy path."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import httpx

from modelport.server.security import envsecrets
from tests.conftest import ServerProcess
from tests.e2e.deploy_support import delete_and_wait, deploy, deployed

WS = "/workspaces/default"
SECRET = "s3cr3t-connection-string-0123456789"
PASSWORD = "registry-password-9876543210"

# deploy_server: tests/security/conftest.py (shared; this module deletes its service)


def _spec(name: str, **env: str) -> dict[str, Any]:
    return {
        "name": name,
        "environmentVariables": env,
        "python": {"userManagedDependencies": False,
                   "condaDependencies": {"dependencies": ["python=3.11", {"pip": ["six"]}]}},
        "docker": {"baseImageRegistry": {"address": "r.example", "username": "u",
                                         "password": PASSWORD}},
    }  # fmt: skip


def test_env_secrets_are_sealed_at_rest_and_masked_in_answers(
    deploy_server: ServerProcess,
) -> None:
    workspace_server = deploy_server
    c = workspace_server.client()
    r = c.post(f"{WS}/environments", json=_spec("sealed-env", API_KEY=SECRET, MODE="fast"))
    assert r.status_code == 201, r.text
    for doc in (r.json(), c.get(f"{WS}/environments/sealed-env/versions/1").json(),
                c.get(f"{WS}/environments", params={"name": "sealed-env"}).json()):  # fmt: skip
        assert SECRET not in str(doc) and PASSWORD not in str(doc)
    shown = r.json()["environment"]
    assert shown["environmentVariables"] == {"API_KEY": envsecrets.MASK, "MODE": envsecrets.MASK}
    assert shown["docker"]["baseImageRegistry"]["password"] == envsecrets.MASK
    db = workspace_server.home / "db.sqlite"
    raw = b"".join(p.read_bytes() for p in db.parent.iterdir() if p.name.startswith("db.sqlite"))
    assert SECRET.encode() not in raw and PASSWORD.encode() not in raw
    with sqlite3.connect(db) as conn:
        stored = conn.execute("select spec from environments where name='sealed-env'").fetchone()
    assert envsecrets.SEALED in stored[0]
    # get, edit something else, register: the masked secrets keep their stored values
    again = dict(shown, environmentVariables={"API_KEY": envsecrets.MASK, "MODE": "slow"})
    r2 = c.post(f"{WS}/environments", json=again)
    assert r2.status_code == 201 and r2.json()["version"] == "2", r2.text
    box = envsecrets.box_for(workspace_server.home)
    with sqlite3.connect(db) as conn:
        v2 = json.loads(
            conn.execute(
                "select spec from environments where name='sealed-env' and version=2"
            ).fetchone()[0]
        )
    plain = envsecrets.unseal(v2, box)
    assert plain["environmentVariables"] == {"API_KEY": SECRET, "MODE": "slow"}
    assert plain["docker"]["baseImageRegistry"]["password"] == PASSWORD


ECHO_ENV = """
import os

def init():
    pass

def run(raw):
    return {"API_KEY": os.environ.get("API_KEY")}
"""


def test_a_deployed_revision_keeps_its_variables_sealed_and_its_replicas_get_them(
    deploy_server: ServerProcess,
) -> None:
    c = deploy_server.client()
    minimal = c.get(f"{WS}/environments/AzureML-Minimal/versions/latest").json()["environment"]
    mine = dict(minimal, name="svc-env", version=None, environmentVariables={"API_KEY": SECRET})
    assert c.post(f"{WS}/environments", json=mine).status_code == 201
    # what an SDK user deploys after Environment.get: the secret masked, restored server-side
    shown = c.get(f"{WS}/environments/svc-env/versions/1").json()["environment"]
    assert shown["environmentVariables"] == {"API_KEY": envsecrets.MASK}
    svc = deployed(c, deploy(c, "env-secrets", script=ECHO_ENV, environment=shown))
    assert svc["state"] == "Healthy", svc
    r = httpx.post(svc["scoringUri"], json={"data": 1}, timeout=30)
    assert r.status_code == 200 and r.json() == {"API_KEY": SECRET}, r.text
    raw = b"".join(
        p.read_bytes() for p in deploy_server.home.iterdir() if p.name.startswith("db.sqlite")
    )
    assert SECRET.encode() not in raw  # neither the environment nor the revision row
    assert SECRET not in str(c.get(f"{WS}/services/env-secrets").json())
    delete_and_wait(c, "env-secrets")
