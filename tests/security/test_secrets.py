"""Secrets (service keys, token secrets, access tokens, the workspace token, the database password)
never appear in server logs, deployment logs, error messages, service documents, the CLI's
``service show`` or the OpenAPI document. The real logs are grepped after a run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import fresh_pg_database
from tests.e2e.deploy_support import ENV_CACHE, MINIMAL, wait_until
from tests.security.support import WS, client_from, sha, start_server_with_env

SCRIPT = "def init():\n    pass\n\ndef run(raw):\n    return {'ok': True}\n"
BROKEN = "def init():\n    raise RuntimeError('init broke')\n\ndef run(raw):\n    return 1\n"
DB_PASSWORD = "Pg-Secret-Pass-4242"
GIVEN_PRIMARY = "given-primary-key-0123456789abcdef"


def _deploy(c: httpx.Client, name: str, script: str, config: dict[str, Any]) -> str:
    """Start a deployment; its operation id (the three deployments run at once)."""
    data = script.encode()
    assert c.put(f"{WS}/blobs/{sha(data)}", content=data).status_code in (200, 201)
    r = c.post(
        f"{WS}/services",
        json={
            "name": name,
            "models": [],
            "inferenceConfig": {"entryScript": "score.py"},
            "sourceSnapshot": {"files": [{"path": "score.py", "sha256": sha(data), "size": 4}]},
            "environment": MINIMAL,
            "deploymentConfig": {"computeType": "local", **config},
        },
    )
    assert r.status_code == 202, r.text
    return str(r.json()["operation"]["id"])


def _finished(c: httpx.Client, op: str) -> dict[str, Any]:
    wait_until(lambda: c.get(f"{WS}/operations/{op}").json()["state"] != "Running", 240, op)
    return dict(c.get(f"{WS}/operations/{op}").json())


def _all_text(home: Path) -> dict[str, str]:
    """Every file the server wrote, except the ones whose job is to hold a secret."""
    holders = {"token", "secret.key", "auth.json"}
    texts = {}
    for path in home.rglob("*"):
        if path.is_symlink() or not path.is_file() or path.name in holders:
            continue
        if path.suffix in (".sqlite", ".sqlite-wal", ".sqlite-shm") or "artifacts" in path.parts:
            continue
        texts[str(path)] = path.read_text(errors="replace")
    return texts


def test_no_secret_in_logs_errors_documents_or_cli(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    ENV_CACHE.mkdir(parents=True, exist_ok=True)
    (home / "environments").symlink_to(ENV_CACHE, target_is_directory=True)
    with fresh_pg_database() as url:
        secret_url = url.replace("postgres@", f"postgres:{DB_PASSWORD}@")
        # the URL goes through the environment: a --database-url flag would show in `ps`
        server = start_server_with_env(home, {"MODELPORT_DATABASE_URL": secret_url})
        try:
            _exercise_and_check(server, home)
        finally:
            server.stop()
        secrets_seen = _collect_and_grep(home)
    print(f"\n[campaign] secret values grepped for across logs and answers: {secrets_seen}")


_FOUND: dict[str, Any] = {}


def _exercise_and_check(server: Any, home: Path) -> None:
    c = server.client()
    ops = [
        _deploy(c, "keyed", SCRIPT, {"authEnabled": True, "keys": {"primaryKey": GIVEN_PRIMARY}}),
        _deploy(c, "tokened", SCRIPT, {"tokenAuthEnabled": True}),
        _deploy(c, "broken", BROKEN, {"authEnabled": True}),
    ]
    key_op, tok_op, bad_op = (_finished(c, op) for op in ops)
    assert key_op["state"] == "Succeeded" and tok_op["state"] == "Succeeded", (key_op, tok_op)
    assert bad_op["state"] == "Failed"
    keys = c.post(f"{WS}/services/keyed/listKeys").json()
    assert keys["primaryKey"] == GIVEN_PRIMARY
    regen = c.post(
        f"{WS}/services/keyed/regenerateKeys", json={"keyType": "Secondary", "keyValue": "x" * 40}
    ).json()
    assert regen["secondaryKey"] == "x" * 40
    regen = c.post(f"{WS}/services/keyed/regenerateKeys", json={"keyType": "Secondary"}).json()
    token = c.post(f"{WS}/services/tokened/token").json()["accessToken"]
    # error paths that could echo what they were given
    errors = [
        c.post(f"{WS}/services/keyed/regenerateKeys", json={"keyType": GIVEN_PRIMARY}),
        c.post(f"{WS}/services/keyed/token"),
        c.patch(f"{WS}/services/keyed", json={"deploymentConfig": {"computeType": "local",
                                                                   "keys": {"primaryKey": 5}}}),
    ]  # fmt: skip
    for r in errors:
        assert 400 <= r.status_code < 500, r.text
    with client_from(server, "127.0.0.41", token=server.token[:-1] + "x") as wrong:
        assert wrong.get("/workspaces").status_code == 401
    shown = [
        c.get(f"{WS}/services/keyed").text,
        c.get(f"{WS}/services/tokened").text,
        c.get(f"{WS}/services").text,
        c.get(f"{WS}/services/keyed/operations").text,
        c.get(f"{WS}/services/keyed/logs").text,
        c.get(f"{WS}/services/broken/logs").text,
        c.get("/openapi.json").text,
        *[r.text for r in errors],
    ]
    cli = subprocess.run(
        [
            sys.executable,
            "-m",
            "modelport.cli.main",
            "service",
            "show",
            "-n",
            "keyed",
            "-o",
            "json",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, **server.env},
        timeout=60,
        check=False,
    )
    if cli.returncode != 0:  # the CLI may be run as the console script only
        cli = subprocess.run(
            [str(Path(sys.executable).parent / "modelport"), "service", "show", "-n", "keyed"],
            capture_output=True, text=True, env={**os.environ, **server.env}, timeout=60,
            check=False,
        )  # fmt: skip
    assert cli.returncode == 0, cli.stderr
    assert "keyed" in cli.stdout
    shown += [cli.stdout, cli.stderr]
    # the replicas get a path to the auth file, never a secret in their environment or argv
    auth_files = list((home / "services").rglob("auth.json"))
    assert auth_files and all(p.stat().st_mode & 0o077 == 0 for p in auth_files)
    token_secret = json.loads((home / "services/default/tokened/auth.json").read_text())
    secrets = {
        "workspace token": server.token,
        "primary key": GIVEN_PRIMARY,
        "given secondary key": "x" * 40,
        "regenerated secondary key": regen["secondaryKey"],
        "generated primary key of broken": c.post(f"{WS}/services/broken/listKeys").json()[
            "primaryKey"
        ],
        "token secret": token_secret["secrets"][0],
        "access token": token,
        "access token signature": token.rsplit(".", 1)[1],
        "database password": DB_PASSWORD,
    }
    for what, value in secrets.items():
        for i, text in enumerate(shown):
            assert value not in text, f"{what} appears in answer #{i}"
    for pid in _replica_pids(home):
        env = Path(f"/proc/{pid}/environ").read_bytes() + Path(f"/proc/{pid}/cmdline").read_bytes()
        for what, value in secrets.items():
            assert value.encode() not in env, f"{what} in the environment of replica {pid}"
    server_cmd = Path(f"/proc/{server.pid}/cmdline").read_bytes()
    assert DB_PASSWORD.encode() not in server_cmd
    for name in ("keyed", "tokened", "broken"):
        c.delete(f"{WS}/services/{name}")
    wait_until(lambda: c.get(f"{WS}/services").json()["value"] == [], 60, "deletes")
    _FOUND.update(secrets)


def _collect_and_grep(home: Path) -> int:
    texts = _all_text(home)
    assert any(p.endswith("server.log") for p in texts)
    for what, value in _FOUND.items():
        for path, text in texts.items():
            assert value not in text, f"{what} appears in {path}"
    return len(_FOUND)


def _replica_pids(home: Path) -> list[int]:
    from tests.e2e.deploy_support import replica_pids

    return replica_pids(home)


def test_config_errors_do_not_echo_a_key_value() -> None:
    import pytest

    from modelport.specs import ConfigError, parse_deployment_config

    secret = "my-secret-key-123"
    for value in ([secret], {"k": secret}, [secret, 1], " " * 3):
        config = {"computeType": "local", "authEnabled": True, "keys": {"primaryKey": value}}
        with pytest.raises(ConfigError) as info:
            parse_deployment_config(config, "deploymentconfig.json")
        assert "keys.primaryKey" in str(info.value)
        assert secret not in str(info.value), str(info.value)
