"""Each service's replicas as an unprivileged user of their own, when the server runs as root.

Entry scripts are arbitrary code. Run as the server's user, they could read ``HOME/token`` and
``HOME/secret.key`` (every service's keys). So a root server gives each service a system user
``mp-<hash of the service>`` (created with ``useradd`` on first use) and hands it exactly what
its replicas need: its app root (entry script, sources, model copies), its busy-mark file (not
the replica directory: the server reads specs and writes logs there), read-only access to its
auth and TLS files (root's, group = the user's group, 0640: it cannot rewrite its own keys),
read access to the environment modelport built for it and the serving runtime snapshot (packages,
no secrets), and traverse-only (``o+x``) access to the directories on the way. The server's home
is 0711: nothing in it can be listed, and everything else in it stays 0600/0700 root's.

The launcher drops to that user after joining the replica's cgroups (``launcher.py``). Isolation
needs every directory above the home and the environment cache to be traversable by others, and
an interpreter others can run: environments are built from one when a root server's cache is
reachable (``environments/interpreters.py``: pyenv's under ``/root`` is swapped for a system one
of the same minor version). Where that cannot be, the replicas share the server's user and
``note`` (``service show``'s ``replicaUser``) says why. ``MODELPORT_REPLICA_USERS=off`` turns it
off. A server that is not root cannot switch users: its replicas share its user. A deleted
service's user and group are removed (``remove_user``), and what its replicas left at the top of
``/tmp``, ``/var/tmp`` and ``/dev/shm`` with them: ``useradd`` hands the freed uid to the next
service user, which would otherwise own those files.
"""

from __future__ import annotations

import contextlib
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

from modelport.environments.interpreters import run_problem, unreachable
from modelport.server.home import SYSTEM_HOME, SYSTEM_HOME_ENV
from modelport.targets.local import procs

log = logging.getLogger("modelport.targets.local")

ENV = "MODELPORT_REPLICA_USERS"
PREFIX = "mp-"
BUILT_MARKER = ".modelport-built"  # environments/build.py: a venv modelport built
COMPILED_MARKER = ".modelport-compiled"  # environments/build.py: its bytecode compile finished
RUNTIME_PTH = "_modelport_runtime.pth"  # environments/runtime.py: points at the runtime snapshot
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
    """How the service's replicas run: as last decided in this process, else (replicas adopted
    after a server restart) as their running processes show, else as they would start."""
    if service in _notes:
        return _notes[service]
    if not enabled():
        return shared_note()
    running = _running_as(service)
    if running is not None:
        _notes[service] = running
        return running
    return f"replicas run as user {user_name(service)}"


def _running_as(service: str) -> str | None:
    """The user of a running replica of ``service`` (found by its environment), if any."""
    for pid in procs.pids_with_env("MODELPORT_SERVICE_KEY", service):
        try:
            with open(f"/proc/{pid}/status") as f:
                uid = next(int(line.split()[1]) for line in f if line.startswith("Uid:"))
        except (OSError, StopIteration, ValueError, IndexError):
            continue
        if uid == os.geteuid():
            return "replicas run as the server's user (as started before the server's restart)"
        with contextlib.suppress(KeyError):
            return f"replicas run as user {pwd.getpwuid(uid).pw_name} (uid {uid})"
        return f"replicas run as uid {uid}"
    return None


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


def remove_user(service: str) -> None:
    """Remove a deleted service's user and its group. Called once no revision of the service is
    left and none can start (the driver holds its lock), so no new replica needs the user; a
    replica of the same workspace/service name on another root server of this host still runs
    as it, and then ``userdel`` refuses (exit 8) and the user stays."""
    if os.geteuid() != 0 or not shutil.which("userdel"):
        return
    name = user_name(service)
    with _lock:
        _notes.pop(service, None)
        try:
            uid = pwd.getpwnam(name).pw_uid
        except KeyError:
            return
        done = subprocess.run(["userdel", name], capture_output=True, text=True, check=False)
        if done.returncode not in (0, 6):  # 6: removed meanwhile
            log.warning("userdel %s: %s (the user stays)", name, done.stderr.strip())
            return
        if done.returncode == 0:  # (not after 6: the uid may be another user's by now)
            # the next service user may get this uid back: what the replicas left in the
            # shared temporary folders would be its to read
            remove_leftovers(uid)
        # userdel removes the user's own group too where USERGROUPS_ENAB (Debian): make sure
        gone = subprocess.run(["groupdel", name], capture_output=True, text=True, check=False)
        if gone.returncode not in (0, 6):
            log.warning("groupdel %s: %s", name, gone.stderr.strip())


SHARED_TEMP = ("/tmp", "/var/tmp", "/dev/shm")


def remove_leftovers(uid: int, roots: tuple[str, ...] = SHARED_TEMP) -> None:
    """Delete the files and folders a removed user left at the top of the shared temporary
    folders, a folder with all it holds. Symbolic links are removed, never followed."""
    for root in roots:
        try:
            entries = list(os.scandir(root))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.stat(follow_symlinks=False).st_uid != uid:
                    continue
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path)  # fd-based on Linux: no symlink inside is followed
                else:
                    os.unlink(entry.path)
            except OSError as exc:
                log.warning("removing %s of a deleted service's user: %s", entry.path, exc)


def home_problem(home: Path) -> str | None:
    """Why a root server's replicas cannot have users of their own with this home, and how to
    move it (one line for the server log at start), or None."""
    if not enabled():
        return None
    problem = unreachable(Path(os.path.realpath(home)).parent)
    if problem is None:
        return None
    system = os.environ.get(SYSTEM_HOME_ENV) or SYSTEM_HOME
    return (
        f"replicas will run as the server's user, not users of their own: {problem}. To isolate "
        f"them, move the home to {system} (or any folder every directory above which others "
        "may traverse): modelport server stop --services; mv the home; remove its environments "
        "folder; start; delete and deploy the services again (docs/server.md, Root's home)"
    )


def _open_tree(root: Path) -> None:
    """Make a shared tree (an environment: packages, no secrets) readable by everyone.

    Walked at every replica start, not once: the environment's bytecode is compiled in the
    background after the build (``environments/build.py``) into new 0700 ``__pycache__``
    folders, and replicas that cannot read them would compile every import at each start. A
    walk that changes nothing is an lstat per file (0.2 s for 12,000 files under load), done in
    the background once the tree is open; files that vanish meanwhile (a compiler's temporary
    files) are skipped.
    """
    for dirpath, dirnames, filenames in os.walk(root):
        for name in (*dirnames, *filenames):
            p = os.path.join(dirpath, name)
            with contextlib.suppress(FileNotFoundError):
                _open_one(p, os.lstat(p).st_mode)
    _open_one(str(root), os.stat(root).st_mode)


_walking: set[Path] = set()  # trees being re-opened in the background
_settled: set[Path] = set()  # trees opened after their bytecode compile had finished


def _open_shared(tree: Path) -> None:
    """Open ``tree`` before the replica starts the first time; afterwards (only new bytecode
    to open) in a background thread, so replica starts do not wait for the walk, and no more
    once a walk began after the environment's compile had finished."""
    if not os.stat(tree).st_mode & stat.S_IXOTH:
        _open_tree(tree)
        return
    with _lock:
        if tree in _walking or tree in _settled:
            return
        _walking.add(tree)

    def walk() -> None:
        compiled = (tree / COMPILED_MARKER).exists()
        try:
            _open_tree(tree)
        except OSError as exc:
            log.warning("opening %s for the services' users: %s", tree, exc)
            compiled = False
        finally:
            with _lock:
                _walking.discard(tree)
                if compiled:
                    _settled.add(tree)

    threading.Thread(target=walk, name="modelport-open-env", daemon=True).start()


def _open_one(path: str, mode: int) -> None:
    if stat.S_ISLNK(mode):
        return
    extra = stat.S_IROTH | stat.S_IRGRP
    if stat.S_ISDIR(mode) or mode & stat.S_IXUSR:
        extra |= stat.S_IXOTH | stat.S_IXGRP
    if mode & extra != extra:
        os.chmod(path, mode | extra)


def _give(path: Path, user: RunAs) -> None:
    """``path`` (a tree) becomes the user's; a missing one is created as an empty file (a file the
    replica writes, like its busy mark, in a directory it must not own)."""
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        os.fchown(fd, user.uid, user.gid)
        os.close(fd)
        return
    if os.lstat(path).st_uid == user.uid:
        # handed over before: its user has run code since, so the tree is walked no more (a
        # subdirectory swapped for a symlink mid-walk would hand over root's files)
        return
    os.chown(path, user.uid, user.gid, follow_symlinks=False)
    if path.is_dir() and not path.is_symlink():
        for dirpath, dirnames, filenames in os.walk(path):
            for name in (*dirnames, *filenames):
                os.chown(os.path.join(dirpath, name), user.uid, user.gid, follow_symlinks=False)


def _share(path: Path, user: RunAs, home: Path, owned: list[Path]) -> None:
    """``path`` (a file the replica reads: auth, TLS) becomes root's, group = the user's, 0640;
    its folder too (0750) unless it also holds what the user owns (the service folder's auth
    file: that folder stays traverse-only)."""
    st = os.lstat(path)
    if stat.S_ISREG(st.st_mode):
        _root_group(str(path), st, user.gid, 0o640)
    folder = path.parent
    if folder != home and home in folder.parents and not any(folder in p.parents for p in owned):
        _root_group(str(folder), os.lstat(folder), user.gid, 0o750)


def _root_group(path: str, st: os.stat_result, gid: int, mode: int) -> None:
    if (st.st_uid, st.st_gid) != (os.geteuid(), gid):
        os.chown(path, os.geteuid(), gid, follow_symlinks=False)
    if stat.S_IMODE(st.st_mode) != mode:
        os.chmod(path, mode)  # lstat-ed a file or folder of root's: no symlink to follow


def _traverse(path: Path, top: Path) -> None:
    """Add o+x to the directories between ``top`` (included) and ``path``."""
    for parent in reversed(path.parents):
        if parent == top or top in parent.parents:
            mode = os.stat(parent).st_mode
            if not mode & stat.S_IXOTH:
                os.chmod(parent, mode | stat.S_IXOTH)


def _environment_trees(python: str) -> list[Path]:
    """What a replica of this interpreter reads besides the interpreter, when modelport built it:
    its virtual environment and the serving runtime snapshot its ``.pth`` file names."""
    venv = Path(os.path.realpath(Path(python).parent.parent))
    if not (venv / BUILT_MARKER).is_file():
        return []  # not ours (user-managed): never chmod someone else's tree
    trees = [venv]
    for pth in venv.glob(f"lib/python*/site-packages/{RUNTIME_PTH}"):
        for line in pth.read_text(errors="replace").splitlines():
            if line.startswith("/") and os.path.isdir(line.strip()):
                trees.append(Path(os.path.realpath(line.strip())))
    return trees


def _top(tree: Path, home: Path) -> Path:
    """The directory from which isolation may add traverse bits on the way to ``tree``: the
    server's home, or the environment cache (``<cache>/envs/<key>``, ``<cache>/runtime/<fp>``)
    when it lives elsewhere."""
    return home if home in tree.parents else tree.parent.parent


def prepare(
    service: str,
    python: str,
    home: Path,
    owned: list[Path],
    shared: list[Path],
    readable: list[Path] | None = None,
) -> tuple[RunAs | None, str]:
    """Get a service's replicas ready to run as its own user: (the user, a note for people).
    ``owned`` paths become the user's; ``shared`` trees (environments) readable by all;
    ``readable`` files (auth, TLS) readable by the user's group only, never writable by it."""
    user, note = _prepare(service, python, home, owned, shared, readable or [])
    _notes[service] = note
    return user, note


def _prepare(
    service: str,
    python: str,
    home: Path,
    owned: list[Path],
    shared: list[Path],
    readable: list[Path],
) -> tuple[RunAs | None, str]:
    if not enabled():
        return None, shared_note()
    home = Path(os.path.realpath(home))
    trees = [Path(os.path.realpath(t)) for t in shared] + _environment_trees(python)
    problem = run_problem(python) or unreachable(home.parent)
    venv = Path(os.path.realpath(Path(python).parent.parent))
    if (venv / "pyvenv.cfg").is_file() and not trees:
        problem = problem or unreachable(venv / "lib")  # a user-managed one: readable already?
    for tree in trees:
        problem = problem or unreachable(_top(tree, home).parent)
    if problem:
        return None, f"replicas run as the server's user: {problem}"
    user = ensure_user(user_name(service))
    for tree in trees:  # environments hold packages, never secrets: readable by everyone
        _open_shared(tree)
        _traverse(tree, _top(tree, home))
    for path in owned:
        _give(path, user)
        _traverse(path, home)
    real = [Path(os.path.realpath(p)) for p in owned]
    for path in (Path(os.path.realpath(p)) for p in readable):
        _traverse(path, home)
        _share(path, user, home, real)
    return user, f"replicas run as user {user.name} (uid {user.uid})"
