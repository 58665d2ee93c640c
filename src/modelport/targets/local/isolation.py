"""Each service's replicas as an unprivileged user of their own, when the server runs as root.

Entry scripts are arbitrary code. Run as the server's user, they could read ``HOME/token`` and
``HOME/secret.key`` (every service's keys). So a root server gives each service a system user
``mp-<hash of the service>`` (created with ``useradd`` on first use) and hands it exactly what
its replicas need: its app root (entry script, sources, model copies), its auth and TLS files,
its replica directory (busy marks), read access to its environment's interpreter and packages,
and traverse-only (``o+x``) access to the directories on the way. The server's home is 0711:
nothing in it can be listed, and everything else in it stays 0600/0700 root's.

The launcher drops to that user after joining the replica's cgroups (``launcher.py``). Isolation
needs the interpreter to be reachable by another user: one under ``/root`` (pyenv) is not, and
then the replicas share the server's user and ``note`` says why. ``MODELPORT_REPLICA_USERS=off``
turns it off. A server that is not root cannot switch users: its replicas share its user.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pwd
import shutil
import stat
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("modelport.targets.local")

ENV = "MODELPORT_REPLICA_USERS"
PREFIX = "mp-"
_lock = threading.Lock()
_notes: dict[str, str] = {}  # per service key: how its replicas last started (for `service show`)


@dataclass(frozen=True)
class RunAs:
    name: str
    uid: int
    gid: int


def enabled() -> bool:
    """Whether this process would give replicas users of their own."""
    return (
        os.geteuid() == 0 and os.environ.get(ENV, "on") != "off" and bool(shutil.which("useradd"))
    )


def user_name(service: str) -> str:
    return PREFIX + hashlib.sha256(service.encode()).hexdigest()[:12]


def shared_note() -> str:
    if os.geteuid() != 0:
        return "replicas run as the server's user (it is not root, so it cannot switch users)"
    return f"replicas run as the server's user ({ENV}=off or no useradd)"


def describe(service: str) -> str:
    """How the service's replicas run, as last decided in this process (or would be)."""
    if service in _notes:
        return _notes[service]
    return shared_note() if not enabled() else f"replicas run as user {user_name(service)}"


def ensure_user(name: str) -> RunAs:
    with _lock:
        try:
            pw = pwd.getpwnam(name)
        except KeyError:
            done = subprocess.run(
                ["useradd", "--system", "--user-group", "--no-create-home", "--home-dir",
                 "/nonexistent", "--shell", "/usr/sbin/nologin", name],
                capture_output=True, text=True, check=False,
            )  # fmt: skip
            if done.returncode not in (0, 9):  # 9: created meanwhile by another process
                raise OSError(f"useradd {name} failed: {done.stderr.strip()}") from None
            pw = pwd.getpwnam(name)
    return RunAs(name, pw.pw_uid, pw.pw_gid)


def unreachable(path: Path, execute: bool = False) -> str | None:
    """Why a user other than the owner cannot reach ``path``, or None when it can."""
    real = Path(os.path.realpath(path))
    for parent in reversed(real.parents):
        if not os.stat(parent).st_mode & stat.S_IXOTH:
            return f"{parent} is not traversable by other users"
    mode = os.stat(real).st_mode
    # a directory on the way only needs traversing
    need = stat.S_IXOTH if stat.S_ISDIR(mode) else stat.S_IROTH | (stat.S_IXOTH if execute else 0)
    if mode & need != need:
        return f"{real} is not reachable by other users"
    return None


def _interpreter_problem(python: str) -> str | None:
    exe = Path(python)
    problem = unreachable(exe, execute=True)
    if problem:
        return problem
    cfg = exe.parent.parent / "pyvenv.cfg"  # a virtual environment: its base interpreter too
    if cfg.is_file():
        for line in cfg.read_text(errors="replace").splitlines():
            key, _, value = line.partition("=")
            if key.strip() == "home" and value.strip():
                return unreachable(Path(value.strip()))
    return None


def _open_tree(root: Path) -> None:
    """Make a shared tree (an environment: packages, no secrets) readable by everyone."""
    if os.stat(root).st_mode & stat.S_IXOTH:
        return  # done before
    for dirpath, dirnames, filenames in os.walk(root):
        for name in (*dirnames, *filenames):
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            if not stat.S_ISLNK(st.st_mode):
                extra = stat.S_IROTH | stat.S_IRGRP
                if stat.S_ISDIR(st.st_mode) or st.st_mode & stat.S_IXUSR:
                    extra |= stat.S_IXOTH | stat.S_IXGRP
                os.chmod(p, st.st_mode | extra)
    os.chmod(root, os.stat(root).st_mode | 0o055)


def _give(path: Path, user: RunAs) -> None:
    """``path`` (a tree) becomes the user's."""
    if not path.exists():
        return
    os.chown(path, user.uid, user.gid, follow_symlinks=False)
    if path.is_dir() and not path.is_symlink():
        for dirpath, dirnames, filenames in os.walk(path):
            for name in (*dirnames, *filenames):
                os.chown(os.path.join(dirpath, name), user.uid, user.gid, follow_symlinks=False)


def _traverse(path: Path, home: Path) -> None:
    """Add o+x to the directories between ``home`` (included) and ``path``."""
    for parent in reversed(path.parents):
        if parent == home or home in parent.parents:
            mode = os.stat(parent).st_mode
            if not mode & stat.S_IXOTH:
                os.chmod(parent, mode | stat.S_IXOTH)


def prepare(
    service: str,
    python: str,
    home: Path,
    owned: list[Path],
    shared: list[Path],
) -> tuple[RunAs | None, str]:
    """Get a service's replicas ready to run as its own user: (the user, a note for people).
    ``owned`` paths become the user's; ``shared`` trees (environments) readable by all."""
    user, note = _prepare(service, python, home, owned, shared)
    _notes[service] = note
    return user, note


def _prepare(
    service: str, python: str, home: Path, owned: list[Path], shared: list[Path]
) -> tuple[RunAs | None, str]:
    if not enabled():
        return None, shared_note()
    problem = _interpreter_problem(python) or unreachable(home.parent)
    if problem:
        return None, f"replicas run as the server's user: {problem}"
    user = ensure_user(user_name(service))
    venv = Path(python).parent.parent
    for tree in [*shared, *([venv] if (venv / "pyvenv.cfg").is_file() else [])]:
        if home in tree.parents:
            _open_tree(tree)
            _traverse(tree, home)
    for path in owned:
        _give(path, user)
        _traverse(path, home)
    return user, f"replicas run as user {user.name} (uid {user.uid})"
