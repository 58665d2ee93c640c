"""End to end, as root: a service's entry script runs as the service's own user and can read
its app root and model, not the server's token, secret key or database, nor another service's
files; it scores normally, and `modelport service show` names the user.

A real server (root, isolation on) with a home under a directory others may traverse, its
environments built by the server itself (from an interpreter other users can run: on a host
whose default Python is pyenv's under /root, the system one of the same minor version), the
probing service deployed and shown with the CLI while another service deploys through the API,
and the probing script scored over HTTP with its key."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
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
    return seen

def run(raw):
    return {{"sum": sum(json.loads(raw)["data"]), "seen": _look()}}
"""
OTHER = "def init():\n    pass\n\ndef run(raw):\n    return {'other': True}\n"
SECRETS = ("token", "secret", "db", "server_log", "other_script", "other_auth", "other_spec")


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
    other = deploy(c, "other", script=OTHER, config={"computeType": "local", "authEnabled": True})
    # the box's deployment (below) runs meanwhile: two services, each with a user of its own

    project = _project(base / "box", PROBE.format(home=str(home)))
    (project / "box.bin").write_bytes(b"model-weights-of-box")
    reg = cli(server, ["model", "register", "-n", "boxm", "-p", "box.bin"], project)
    assert reg.returncode == 0, reg.stderr
    shown = _deploy(server, project, "box", "boxm:1")
    assert shown["state"] == "Healthy", shown
    assert deployed(c, other)["state"] == "Healthy"

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
    for rel in (
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
        assert note.startswith(f"replicas run as user {isolation.user_name('default/box')} "), note
    finally:
        again.stop()
