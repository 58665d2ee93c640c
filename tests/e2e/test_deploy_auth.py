"""Service keys and tokens at the REST level: 401 without, 200 with, rotation without restart."""

from __future__ import annotations

import base64
import json

import httpx

from tests.conftest import ServerProcess
from tests.e2e.deploy_support import (
    WS,
    delete_and_wait,
    deploy,
    deployed,
    module_server,
    replica_pids,
    tagged_script,
    wait_until,
)

server = module_server("auth")


def _score(uri: str, credential: str | None) -> int:
    headers = {"Authorization": f"Bearer {credential}"} if credential else {}
    return httpx.post(uri, content=b"{}", headers=headers, timeout=10).status_code


def _deploy_keyed(client: httpx.Client, name: str) -> dict[str, object]:
    service = deployed(
        client,
        deploy(client, name, script=tagged_script("k"),
               config={"computeType": "local", "authEnabled": True}),
    )  # fmt: skip
    assert service["state"] == "Healthy", service
    return service


def test_keys_are_listed_regenerated_and_never_shown_elsewhere(server: ServerProcess) -> None:
    client = server.client()
    service = _deploy_keyed(client, "keyed-admin")
    assert service["authEnabled"] is True and service["tokenAuthEnabled"] is False
    keys = client.post(f"{WS}/services/keyed-admin/listKeys").json()
    primary, secondary = keys["primaryKey"], keys["secondaryKey"]
    assert len(primary) >= 32 and primary != secondary
    shown = client.get(f"{WS}/services/keyed-admin").text
    shown += client.get(f"{WS}/services/keyed-admin/logs").text
    shown += (server.home / "server.log").read_text(errors="replace")
    assert primary not in shown and secondary not in shown
    # stored encrypted: the database file never holds a key in clear
    db = (server.home / "db.sqlite").read_bytes() + (server.home / "db.sqlite-wal").read_bytes()
    assert primary.encode() not in db and secondary.encode() not in db
    auth_file = server.home / "services" / "default" / "keyed-admin" / "auth.json"
    doc = json.loads(auth_file.read_text())
    assert doc["mode"] == "key" and len(doc["keyHashes"]) == 2
    assert primary not in auth_file.read_text()
    assert auth_file.stat().st_mode & 0o777 == 0o600
    before = auth_file.read_text()
    r = client.post(f"{WS}/services/keyed-admin/regenerateKeys", json={"keyType": "Primary"})
    assert r.status_code == 200, r.text
    assert r.json()["primaryKey"] != primary and r.json()["secondaryKey"] == secondary
    assert auth_file.read_text() != before  # rewritten before the answer
    r = client.post(
        f"{WS}/services/keyed-admin/regenerateKeys",
        json={"keyType": "secondary", "keyValue": "my-own-secondary-key-123"},
    )
    assert r.json()["secondaryKey"] == "my-own-secondary-key-123"
    bad = client.post(f"{WS}/services/keyed-admin/regenerateKeys", json={"keyType": "Tertiary"})
    assert bad.status_code == 400
    assert client.post(f"{WS}/services/keyed-admin/token").status_code == 400
    # an update keeps the keys
    r = client.patch(f"{WS}/services/keyed-admin", json={"description": "kept"})
    assert r.status_code == 202
    assert client.post(f"{WS}/services/keyed-admin/listKeys").json()["secondaryKey"] == (
        "my-own-secondary-key-123"
    )
    delete_and_wait(client, "keyed-admin")


def test_key_auth_on_replicas_401_200_and_rotation_without_restart(server: ServerProcess) -> None:
    client = server.client()
    service = _deploy_keyed(client, "keyed")
    keys = client.post(f"{WS}/services/keyed/listKeys").json()
    primary, secondary = keys["primaryKey"], keys["secondaryKey"]
    uri = str(service["scoringUri"])
    assert _score(uri, None) == 401
    assert _score(uri, "not-a-key") == 401
    assert _score(uri, primary) == 200 and _score(uri, secondary) == 200
    pids = replica_pids(server.home)

    r = client.post(f"{WS}/services/keyed/regenerateKeys", json={"keyType": "Primary"})
    assert r.status_code == 200, r.text
    new_primary = client.post(f"{WS}/services/keyed/listKeys").json()["primaryKey"]
    assert new_primary != primary
    wait_until(lambda: _score(uri, primary) == 401, 15, "the old primary key to be refused")
    assert _score(uri, new_primary) == 200 and _score(uri, secondary) == 200
    # an explicit value, case-insensitive key type
    r = client.post(
        f"{WS}/services/keyed/regenerateKeys",
        json={"keyType": "secondary", "keyValue": "my-own-secondary-key-123"},
    )
    assert r.status_code == 200, r.text
    wait_until(lambda: _score(uri, "my-own-secondary-key-123") == 200, 15, "the set key")
    assert replica_pids(server.home) == pids  # rotation did not restart the replicas
    delete_and_wait(client, "keyed")


def _claims(token: str) -> dict[str, object]:
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


def test_token_auth_issues_short_lived_tokens_for_the_service(server: ServerProcess) -> None:
    client = server.client()
    service = deployed(
        client,
        deploy(client, "tokened", script=tagged_script("t"),
               config={"computeType": "local", "tokenAuthEnabled": True}),
    )  # fmt: skip
    assert service["state"] == "Healthy", service
    assert service["tokenAuthEnabled"] is True and service["authEnabled"] is False
    answer = client.post(f"{WS}/services/tokened/token").json()
    token = answer["accessToken"]
    claims = _claims(token)
    assert claims["aud"] == "tokened"
    assert int(claims["exp"]) - int(claims["iat"]) <= 3600  # type: ignore[call-overload]
    assert int(claims["iat"]) < answer["refreshAfter"] < int(claims["exp"])  # type: ignore[call-overload]
    assert answer["tokenType"] == "Bearer"
    assert client.post(f"{WS}/services/tokened/listKeys").status_code == 400
    doc = json.loads((server.home / "services/default/tokened/auth.json").read_text())
    assert doc["mode"] == "token" and doc["audience"] == "tokened" and len(doc["secrets"]) == 1
    assert doc["secrets"][0] not in client.get(f"{WS}/services/tokened").text
    delete_and_wait(client, "tokened")


def test_token_auth_on_replicas_accepts_valid_and_refuses_forged(server: ServerProcess) -> None:
    client = server.client()
    service = deployed(
        client,
        deploy(client, "tokened2", script=tagged_script("t"),
               config={"computeType": "local", "tokenAuthEnabled": True}),
    )  # fmt: skip
    token = client.post(f"{WS}/services/tokened2/token").json()["accessToken"]
    uri = service["scoringUri"]
    try:
        assert _score(uri, None) == 401
        assert _score(uri, token) == 200
        head, body, sig = token.split(".")
        assert _score(uri, f"{head}.{body}.{sig[:-4]}AAAA") == 401
    finally:
        delete_and_wait(client, "tokened2")
