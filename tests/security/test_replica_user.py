"""Entry scripts run as the service's own unprivileged user when the server is root: they read
their app root, and not the server's token, secret key, database or another service's files.

Run through the real pieces a replica starts with: ``isolation.prepare`` (user, ownership,
traverse bits) and the launcher shim (cgroups, then the user drop, then exec), with an
interpreter other users can reach (the system's, not one under /root)."""

from __future__ import annotations

import grp
import json
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from modelport.environments import interpreters
from modelport.targets.local import isolation
from modelport.targets.local.launcher import LAUNCHER

PYTHON = shutil.which("python3.11", path="/usr/bin:/usr/local/bin") or "/usr/bin/python3"

pytestmark = pytest.mark.skipif(
    not isolation.enabled() or not os.path.exists(PYTHON),
    reason="needs root, useradd and a system python3 (replicas share the server's user otherwise)",
)

PROBE = """
import json, os, pathlib, sys
home = pathlib.Path(sys.argv[1])
out = {"uid": os.getuid()}
for name, path in [("token", home / "token"), ("secret", home / "secret.key"),
                   ("db", home / "db.sqlite"), ("other", home / "services/ws/other/app/score.py"),
                   ("own", home / "services/ws/mine/app/score.py")]:
    try:
        out[name] = path.read_text()[:8]
    except OSError as exc:
        out[name] = type(exc).__name__
try:
    out["listing"] = sorted(os.listdir(home))
except OSError as exc:
    out["listing"] = type(exc).__name__
print(json.dumps(out))
"""


@pytest.fixture
def home() -> Iterator[Path]:
    # under a directory every user may traverse, like a server home in /var/lib
    base = Path(tempfile.mkdtemp(prefix="mp-iso-", dir="/tmp"))
    os.chmod(base, 0o711)
    h = base / "home"
    h.mkdir(mode=0o711)
    old = os.umask(0o077)  # as the server runs
    try:
        (h / "token").write_text("server-token")
        (h / "secret.key").write_text("fernet-key")
        (h / "db.sqlite").write_text("rows")
        for svc in ("mine", "other"):
            app = h / "services" / "ws" / svc / "app"
            app.mkdir(parents=True)
            (app / "score.py").write_text(f"# {svc}'s entry script")
        (h / "replicas" / "ws" / "mine").mkdir(parents=True)
        yield h
    finally:
        os.umask(old)
        shutil.rmtree(base)
        for service in ("ws/mine", "ws/other"):  # no mp- user outlives the test
            isolation.remove_user(service)


def test_an_entry_script_cannot_read_the_servers_token_or_another_service(home: Path) -> None:
    mine = home / "services" / "ws" / "mine" / "app"
    user, note = isolation.prepare(
        "ws/mine", PYTHON, home, [mine, home / "replicas" / "ws" / "mine"], []
    )
    assert user is not None, note
    assert user.name == isolation.user_name("ws/mine") and user.uid != 0
    assert isolation.describe("ws/mine") == note
    plan = json.dumps({"cgroups": [], "cpus": None, "user": [user.uid, user.gid]})
    done = subprocess.run(
        [PYTHON, "-I", "-c", LAUNCHER, plan, PYTHON, "-I", "-c", PROBE, str(home)],
        cwd=mine, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    print(f"\n[campaign] entry script as {user.name}: {seen}")
    assert seen["uid"] == user.uid
    assert seen["own"].startswith("# mine")
    for name in ("token", "secret", "db", "other"):
        assert seen[name] == "PermissionError", (name, seen)
    assert seen["listing"] == "PermissionError"  # the home can be traversed, not listed
    # the server's files stay root's 0600
    assert (home / "token").stat().st_mode & 0o077 == 0


def test_a_second_service_gets_a_user_of_its_own(home: Path) -> None:
    a, _ = isolation.prepare("ws/mine", PYTHON, home, [], [])
    b, _ = isolation.prepare("ws/other", PYTHON, home, [], [])
    assert a is not None and b is not None and a.uid != b.uid


def test_an_interpreter_other_users_cannot_reach_keeps_the_servers_user(home: Path) -> None:
    hidden = home / "services" / "python3"  # under a 0700 directory of root's
    hidden.parent.chmod(0o700)
    shutil.copy(PYTHON, hidden)
    user, note = isolation.prepare("ws/mine", str(hidden), home, [], [])
    assert user is None
    assert "server's user" in note and "not traversable" in note


def test_a_tree_handed_over_before_is_not_walked_again(home: Path) -> None:
    """Its user has run code in it since: a subfolder swapped for a symlink into root's files
    mid-walk would hand those over, so a second start only checks the top."""
    mine = home / "services" / "ws" / "mine" / "app"
    user, note = isolation.prepare("ws/mine", PYTHON, home, [mine], [])
    assert user is not None, note
    planted = mine / "root-file"  # stands for what a swapped symlink would lead to
    planted.write_text("root's")
    isolation.prepare("ws/mine", PYTHON, home, [mine], [])
    assert planted.stat().st_uid == 0


def test_an_unreachable_interpreter_has_a_reachable_twin_of_its_minor_version(home: Path) -> None:
    hidden_dir = home / "services"
    hidden_dir.chmod(0o700)
    hidden = hidden_dir / "python3"
    shutil.copy(PYTHON, hidden)
    out = subprocess.check_output([PYTHON, "-c", "import sys; print(*sys.version_info[:3])"])
    major, minor, micro = (int(part) for part in out.split())
    lines: list[str] = []
    given = interpreters.Interpreter(hidden, (major, minor, micro))
    twin = interpreters.reachable_twin(given, lines.append)
    assert interpreters.run_problem(twin.path) is None, lines
    assert twin.version[:2] == (major, minor) and twin.path != hidden
    assert "so the service's replicas can run as a user of their own" in lines[0]


def test_a_deleted_services_user_goes_unless_a_process_still_runs_as_it() -> None:
    """The driver removes a deleted service's user; one a process still runs as (a replica of
    the same workspace/service on another root server of this host) is kept by userdel."""
    service = "ws/deleted"
    user = isolation.ensure_user(isolation.user_name(service))
    holder = subprocess.Popen(["sleep", "120"], user=user.uid, group=user.gid, extra_groups=[])
    try:
        isolation.remove_user(service)
        assert pwd.getpwnam(user.name).pw_uid == user.uid  # still in use: kept
    finally:
        holder.kill()
        holder.wait()
    isolation.remove_user(service)
    with pytest.raises(KeyError):
        pwd.getpwnam(user.name)
    with pytest.raises(KeyError):
        grp.getgrnam(user.name)
    isolation.remove_user(service)  # gone already: nothing to do, no error


def test_a_deleted_services_user_takes_what_it_left_in_the_shared_temp_folders(
    tmp_path: Path,
) -> None:
    """useradd hands a freed uid to the next service user, which would own (and read) what the
    deleted service's replicas left in /tmp, /var/tmp and /dev/shm: those go with the user. A
    symbolic link the replica left is removed, never followed, and nobody else's file is touched."""
    service = "ws/leftovers"
    user = isolation.ensure_user(isolation.user_name(service))
    mark = f"mp-test-leftover-{os.getpid()}"
    precious = tmp_path / "precious"  # root's, reachable only through the replica's link
    precious.mkdir()
    (precious / "keep.txt").write_text("root's")
    os.chmod(tmp_path, 0o711)
    left = [f"/tmp/{mark}-file", f"/tmp/{mark}-dir", f"/var/tmp/{mark}-file",
            f"/dev/shm/{mark}-shm", f"/tmp/{mark}-link"]  # fmt: skip
    subprocess.run(
        ["sh", "-c", f"echo data > {left[0]} && mkdir {left[1]} && echo data > {left[1]}/inner"
         f" && ln -s {precious} {left[1]}/escape && echo data > {left[2]} && echo data > {left[3]}"
         f" && ln -s {precious} {left[4]}"],
        user=user.uid, group=user.gid, extra_groups=[], check=True,
    )  # fmt: skip
    roots = Path(f"/tmp/{mark}-root")
    roots.write_text("root's, beside them")
    try:
        assert all(os.lstat(p).st_uid == user.uid for p in left)
        isolation.remove_user(service)
        assert [p for p in left if os.path.lexists(p)] == []
        assert (precious / "keep.txt").read_text() == "root's"
        assert roots.read_text() == "root's, beside them"
    finally:
        roots.unlink()
        for p in left:  # on failure: nothing of the test's stays behind
            if os.path.isdir(p) and not os.path.islink(p):
                shutil.rmtree(p)
            elif os.path.lexists(p):
                os.unlink(p)
        isolation.remove_user(service)
