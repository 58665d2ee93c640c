"""The server's home directory: token, ``server.json`` and the other files a client looks for.

The home is private: created 0700 (an existing one is tightened), and the server process runs
with umask 077, so everything it creates below (database, WAL, logs, replica specs, app roots,
model copies, sources, environments) is 0600/0700 without chasing each ``open()``. When the
server runs as root and gives replicas users of their own, the home is 0711 instead: others may
traverse it to what was handed to them (targets/local/isolation.py), never list or read it.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path

TOKEN_FILE = "token"
INFO_FILE = "server.json"
LOG_FILE = "server.log"
LOCK_FILE = "server.lock"


# Root's default home: /root is 0700, so nothing under it can be handed to the services' own
# users (targets/local/isolation.py). FHS, as dockerd's /var/lib/docker. An administrator (and
# a test) may name another with MODELPORT_SYSTEM_HOME.
SYSTEM_HOME = "/var/lib/modelport"
SYSTEM_HOME_ENV = "MODELPORT_SYSTEM_HOME"


def default_home() -> Path:
    """The server home when neither ``--home`` nor ``MODELPORT_HOME`` names one: the one
    definition, shared by the server's settings, the SDK and the CLI."""
    value = os.environ.get("MODELPORT_HOME")
    if value:
        return Path(value).expanduser()
    system = Path(os.environ.get(SYSTEM_HOME_ENV) or SYSTEM_HOME).expanduser()
    return choose_default(Path.home(), os.geteuid() == 0, system)


def choose_default(user_home: Path, root: bool, system_home: Path) -> Path:
    """``~/.modelport``, except for root: ``system_home``, unless ``~/.modelport`` already
    exists (an existing install keeps its workspace; the server log says how to move it)."""
    own = user_home / ".modelport"
    if not root or os.path.lexists(own):
        return own
    return system_home


@dataclass(frozen=True)
class ServerInfo:
    """Where a running server answers and how to authenticate to it."""

    url: str
    pid: int
    port: int
    host: str
    token: str
    ca_file: str | None = None  # the server's own certificate, to verify a self-signed HTTPS server


PRIVATE_FILES = ("db.sqlite", "db.sqlite-wal", "db.sqlite-shm", TOKEN_FILE, "secret.key",
                 LOG_FILE, LOCK_FILE, INFO_FILE, "artifacts")  # fmt: skip


def make_private(home: Path, traverse: bool = False, umask: bool = True) -> None:
    """Create ``home`` 0700 (0711 with ``traverse``), tighten what an older version left
    readable at its top, and (``umask``) make this process create files 0600, directories 0700."""
    if umask:
        os.umask(0o077)
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    if home.stat().st_uid != os.geteuid():
        return  # not ours to change (a shared, administered home)
    os.chmod(home, 0o711 if traverse else 0o700)
    for name in PRIVATE_FILES:
        path = home / name
        with contextlib.suppress(FileNotFoundError):
            os.chmod(path, 0o700 if path.is_dir() else 0o600)


def ensure_token(home: Path) -> str:
    """Read the token, creating it (mode 0600, exclusively) on first start."""
    home.mkdir(parents=True, exist_ok=True)
    path = home / TOKEN_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return read_token(home)
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_urlsafe(32))
        f.flush()
        os.fsync(f.fileno())
    return read_token(home)


def read_token(home: Path) -> str:
    return (home / TOKEN_FILE).read_text().strip()


def url_for(host: str, port: int, scheme: str = "http") -> str:
    shown = f"[{host}]" if ":" in host else host
    if host in ("0.0.0.0", "::"):
        shown = "127.0.0.1"
    return f"{scheme}://{shown}:{port}"


def write_info(home: Path, *, host: str, port: int, pid: int, tls_cert: Path | None = None) -> None:
    """Write ``server.json`` atomically so a reader never sees half of it."""
    scheme = "https" if tls_cert else "http"
    data: dict[str, object] = {
        "url": url_for(host, port, scheme),
        "pid": pid,
        "port": port,
        "host": host,
    }
    if tls_cert:
        data["caFile"] = str(tls_cert.resolve())
    tmp = home / f".{INFO_FILE}.{pid}.tmp"
    tmp.write_text(json.dumps(data))
    os.replace(tmp, home / INFO_FILE)


def read_info(home: Path) -> ServerInfo | None:
    try:
        data = json.loads((home / INFO_FILE).read_text())
        return ServerInfo(
            url=str(data["url"]),
            pid=int(data["pid"]),
            port=int(data["port"]),
            host=str(data["host"]),
            token=read_token(home),
            ca_file=str(data["caFile"]) if data.get("caFile") else None,
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def remove_info(home: Path, pid: int) -> None:
    """Remove ``server.json`` if it still describes process ``pid``."""
    info = read_info(home)
    if info is not None and info.pid == pid:
        with contextlib.suppress(FileNotFoundError):
            (home / INFO_FILE).unlink()


def info_dict(info: ServerInfo) -> dict[str, object]:
    return asdict(info)
