"""End to end, as root: a service's entry script runs as the service's own user and can read
its app root and model, not the server's token, secret key or database, nor another service's
files; it scores normally, and `modelport service show` names the user. Its auth file (and the
other service's TLS files) are root's, readable by the service's group only: the script cannot
rewrite its own keys, and a key regeneration still reaches it. Deleting a service removes its
user and group.

A real server (root, isolation on) with a home under a directory others may traverse, its
environments built by the server itself (from an interpreter other users can run: on a host
whose default Python is pyenv's under /root, the system one of the same minor version), the
probing service deployed and shown with the CLI while another service deploys through the API,
and the probing script scored over HTTP with its key."""

from __future__ import annotations

import grp
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from modelport.environments import interpreters
from modelport.targets.local import isolation
from tests.conftest import ServerProcess
from tests.e2e.deploy_support import WS, deploy, deployed, kill_leftovers
from tests.e2e.sdk_deploy_support import cli
from tests.security.support import start_server_with_env
from tests.tls_support import self_signed


def _reachable_python() -> bool:
    if not isolation.enabled():
        return False
    twin = interpreters.reachable_twin(interpreters.current(), lambda _line: None)
    return interpreters.run_problem(twin.path) is None


pytestmark = [
    pytest.mark.skipif(
        not _reachable_python(),
        reason="needs root, useradd and a Python other users can run (else replicas share the "
        "server's user, as service show says)",
    ),
    pytest.mark.timeout(600),
]

# What the entry script tries to read; HOME is filled in with the server's home.
PROBE = """
import json, os, pathlib

HOME = pathlib.Path({home!r})
TARGETS = {{
    "token": HOME / "token",
    "secret": HOME / "secret.key",
    "db": HOME / "db.sqlite",
    "server_log": HOME / "server.log",
    "other_script": HOME / "services/default/other/rev-1/app/score.py",
    "other_auth": HOME / "services/default/other/auth.json",
    "other_spec": HOME / "replicas/default/other/rev-1/spec.json",
    "other_tls_key": HOME / "services/default/other/rev-1/tls/key.pem",
    "own_model": pathlib.Path(os.environ["AZUREML_MODEL_DIR"]) / "box.bin",
}}

def init():
    pass

def _look():  # at scoring time: by then the other service is deployed too
    seen = {{"uid": os.getuid()}}
    for name, path in TARGETS.items():
        try:
            seen[name] = path.read_bytes()[:16].decode(errors="replace")
        except OSError as exc:
            seen[name] = type(exc).__name__
    for name, folder in [("home_listing", HOME), ("services_listing", HOME / "services")]:
        try:
            seen[name] = sorted(os.listdir(folder))
        except OSError as exc:
            seen[name] = type(exc).__name__
    try:
        (HOME / "token").write_text("pwned")
        seen["token_write"] = "written"
    except OSError as exc:
        seen["token_write"] = type(exc).__name__
    try:  # its own keys: read by the replica, never rewritten by its code
        with open(HOME / "services/default/box/auth.json", "r+b") as f:
            f.write(b"{{}}")
        seen["own_auth_write"] = "written"
    except OSError as exc:
        seen["own_auth_write"] = type(exc).__name__
    return seen

def run(raw):
    return {{"sum": sum(json.loads(raw)["data"]), "seen": _look()}}
"""
OTHER = "def init():\n    pass\n\ndef run(raw):\n    return {'other': True}\n"
SECRETS = ("token", "secret", "db", "server_log", "other_script", "other_auth", "other_spec",
           "other_tls_key")  # fmt: skip


def _project(root: Path, script: str) -> Path:
    (root / "src").mkdir(parents=True)
    (root / "src" / "score.py").write_text(script)
    ic = {"entryScript": "score.py", "sourceDirectory": "src",
          "environment": {"name": "AzureML-Minimal", "version": None}}  # fmt: skip
    (root / "ic.json").write_text(json.dumps(ic))
    (root / "dc.json").write_text(json.dumps({"computeType": "local", "authEnabled": True}))
    return root


@pytest.fixture(scope="module")
def boxed() -> Iterator[tuple[ServerProcess, Path]]:
    # a home like /var/lib/modelport: every directory above it traversable by others
    base = Path(tempfile.mkdtemp(prefix="mp-box-", dir="/tmp"))
    os.chmod(base, 0o755)
    home = base / "home"
    server = start_server_with_env(home, {})
    try:
        yield server, base
    finally:
        server.stop()
        kill_leftovers(home)
        for name in ("box", "other"):
            subprocess.run(["userdel", isolation.user_name(f"default/{name}")],
                           capture_output=True, check=False)  # fmt: skip
        shutil.rmtree(base, ignore_errors=True)


def _deploy(server: ServerProcess, project: Path, name: str, model: str | None) -> dict[str, Any]:
    args = ["model", "deploy", "-n", name, "--ic", "ic.json", "--dc", "dc.json", "-o", "json"]
    done = cli(server, [*args, *(["-m", model] if model else [])], project)
    assert done.returncode == 0, done.stderr[-3000:]
    return dict(json.loads(done.stdout))


def test_an_entry_script_runs_as_its_own_user_and_reads_none_of_the_servers_secrets(
    boxed: tuple[ServerProcess, Path],
) -> None:
    server, base = boxed
    home = server.home
    c = server.client()
    cert, tls_key = self_signed(base / "tls")
    tls = {"sslEnabled": True, "sslCertificate": cert.read_text(), "sslKey": tls_key.read_text()}
    other = deploy(c, "other", script=OTHER, config={"computeType": "local", "authEnabled": True,
                                                     **tls})  # fmt: skip
    # the box's deployment (below) runs meanwhile: two services, each with a user of its own

    project = _project(base / "box", PROBE.format(home=str(home)))
    (project / "box.bin").write_bytes(b"model-weights-of-box")
    reg = cli(server, ["model", "register", "-n", "boxm", "-p", "box.bin"], project)
    assert reg.returncode == 0, reg.stderr
    shown = _deploy(server, project, "box", "boxm:1")
    assert shown["state"] == "Healthy", shown
    other_shown = deployed(c, other)
    assert other_shown["state"] == "Healthy", other_shown
    assert other_shown["scoringUri"].startswith("https://")  # served from its TLS files

    # `service show` names the service's own user
    user = isolation.user_name("default/box")
    show = cli(server, ["service", "show", "-n", "box", "-o", "json"], project)
    assert show.returncode == 0, show.stderr
    assert json.loads(show.stdout)["replicaUser"].startswith(f"replicas run as user {user} "), (
        show.stdout
    )
    key = c.post(f"{WS}/services/box/listKeys").json()["primaryKey"]

    r = httpx.post(
        shown["scoringUri"],
        json={"data": [1, 2, 3]},
        headers={"Authorization": f"Bearer {key}"},
        timeout=60,
    )
    assert r.status_code == 200, r.text
    answer = r.json()
    seen = answer["seen"]
    print(f"\n[campaign] entry script as {user} (server {sys.executable}): {seen}")
    assert answer["sum"] == 6  # it scores normally
    assert seen["uid"] == pwd.getpwnam(user).pw_uid != 0
    assert seen["own_model"] == "model-weights-of"
    for name in SECRETS:
        assert seen[name] == "PermissionError", (name, seen)
    assert seen["own_auth_write"] == "PermissionError"
    for rel in (
        "services/default/other/rev-1/tls/key.pem",
        "token",
        "secret.key",
        "db.sqlite",
        "services/default/other/auth.json",
        "services/default/other/rev-1/app/score.py",
        "replicas/default/other/rev-1/spec.json",
    ):
        assert (home / rel).is_file(), rel  # refused, not missing  # fmt: skip
    assert seen["home_listing"] == seen["services_listing"] == "PermissionError"
    assert seen["token_write"] == "PermissionError"
    assert (home / "token").read_text() == server.token
    # the other service has a user of its own, not the box's
    other_show = c.get(f"{WS}/services/other").json()
    assert isolation.user_name("default/other") in other_show["replicaUser"]
    # the replica directory (spec naming the interpreter root starts, logs) stays root's
    rev = home / "replicas" / "default" / "box" / "rev-1"
    assert rev.stat().st_uid == 0 and (rev / "spec.json").stat().st_uid == 0
    assert (rev / "replica-0.busy").stat().st_uid == seen["uid"]
    # the environment came from an interpreter others can run, of the server's minor version
    cfg = next((home / "environments" / "envs").glob("*/pyvenv.cfg")).read_text()
    assert f"version_info = {sys.version_info.major}.{sys.version_info.minor}." in cfg
    home_line = next(x for x in cfg.splitlines() if x.startswith("home"))
    assert interpreters.unreachable(Path(home_line.split("=", 1)[1].strip())) is None

    # auth and TLS files: root's, the service's group may read them (the other service serves
    # HTTPS from its files, so its replica read them), nobody else
    gid = pwd.getpwnam(user).pw_gid
    other_gid = pwd.getpwnam(isolation.user_name("default/other")).pw_gid
    auth_file = home / "services/default/box/auth.json"
    tls_dir = home / "services/default/other/rev-1/tls"
    for path, group, mode in [(auth_file, gid, 0o640), (tls_dir, other_gid, 0o750),
                              (tls_dir / "key.pem", other_gid, 0o640),
                              (tls_dir / "cert.pem", other_gid, 0o640)]:  # fmt: skip
        st = path.stat()
        assert (st.st_uid, st.st_gid, st.st_mode & 0o777) == (0, group, mode), path
    assert json.loads(auth_file.read_text())["mode"] == "key"  # not rewritten by the script

    # a key regeneration reaches the replica (root rewrites the file, keeping group and mode)
    r = c.post(f"{WS}/services/box/regenerateKeys", json={"keyType": "Primary"})
    assert r.status_code == 200, r.text
    new = r.json()["primaryKey"]
    uri = shown["scoringUri"]
    assert _score(uri, new).status_code == 200
    assert _score(uri, key).status_code == 401
    st = auth_file.stat()
    assert (st.st_uid, st.st_gid, st.st_mode & 0o777) == (0, gid, 0o640)

    # deleting a service removes its user and group
    other_user = isolation.user_name("default/other")
    delete_services_named(server, ["other"])
    with pytest.raises(KeyError):
        pwd.getpwnam(other_user)
    with pytest.raises(KeyError):
        grp.getgrnam(other_user)


def _score(uri: str, key: str) -> httpx.Response:
    body = {"data": [1]}
    return httpx.post(uri, json=body, headers={"Authorization": f"Bearer {key}"}, timeout=60)


def delete_services_named(server: ServerProcess, names: list[str]) -> None:
    c = server.client()
    for name in names:
        assert c.delete(f"{WS}/services/{name}").status_code == 202
    deadline = time.monotonic() + 120
    for name in names:
        while c.get(f"{WS}/services/{name}").status_code != 404:
            assert time.monotonic() < deadline, f"service {name} was not deleted"
            time.sleep(0.1)  # poll interval, bounded by the deadline


def test_after_a_server_restart_service_show_still_names_the_user(
    boxed: tuple[ServerProcess, Path],
) -> None:
    """The replicas outlive the server; the new one adopts them and reads their user from
    their processes."""
    server, _base = boxed
    server.stop()
    again = start_server_with_env(server.home, {})
    try:
        note = again.client().get(f"{WS}/services/box").json()["replicaUser"]
        user = isolation.user_name("default/box")
        assert note.startswith(f"replicas run as user {user} "), note
        # an adopted service's delete removes its user too
        pwd.getpwnam(user)
        delete_services_named(again, ["box"])
        with pytest.raises(KeyError):
            pwd.getpwnam(user)
    finally:
        again.stop()
