"""Start, stop and find the local workspace server (used by ``modelport server …`` and autostart).

A background server is a detached process (its own session) writing to ``HOME/server.log``; it
announces itself in ``HOME/server.json`` once it accepts connections. ``ensure_running`` holds
``HOME/server.lock`` so that two first uses start one server.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from filelock import FileLock

from modelport.errors import ServerError, UserError
from modelport.server.home import (
    LOCK_FILE,
    LOG_FILE,
    ServerInfo,
    make_private,
    read_info,
    read_token,
)
from modelport.server.settings import ServerSettings

__all__ = ["ServerInfo", "ensure_running", "start", "status", "stop"]

START_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0
STATUS_TIMEOUT = 10.0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child of ours counts as gone.
    with contextlib.suppress(ChildProcessError):
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    return True


def _healthy(info: ServerInfo, timeout: float = 2.0) -> bool:
    verify: str | bool = info.ca_file or True
    try:
        response = httpx.get(f"{info.url}/api/v1/health", timeout=timeout, verify=verify)
    except (httpx.HTTPError, OSError):
        return False
    return response.status_code == 200


def status(home: Path) -> ServerInfo | None:
    """The running server of ``home``, or None when none runs (or ``server.json`` is stale)."""
    info = read_info(home)
    if info is None or not _alive(info.pid) or not _is_server_process(info.pid):
        return None
    # A live server process that is slow to answer (a loaded machine) is still the server: give
    # it a few seconds rather than start a second one on the same home.
    deadline = time.monotonic() + STATUS_TIMEOUT
    while True:
        if _healthy(info):
            return info
        if time.monotonic() > deadline or not _alive(info.pid):
            return None
        time.sleep(0.1)


def _is_server_process(pid: int) -> bool:
    """False when the pid was reused by something else (Linux; assume True elsewhere)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return not Path("/proc/self").exists()
    except OSError:
        return True
    return b"modelport" in cmdline


def start(
    home: Path,
    *,
    host: str = "127.0.0.1",
    port: int | None = None,
    database_url: str | None = None,
    foreground: bool = False,
    tls_cert: Path | None = None,
    tls_key: Path | None = None,
) -> ServerInfo:
    """Start a server for ``home`` (or return the one already running).

    ``foreground=True`` serves in this process until it is stopped, then returns its info.
    ``tls_cert``/``tls_key`` make it serve HTTPS (TLS 1.2 or newer). ``port=None``: the
    MODELPORT_PORT environment variable, else 0 (a free port).
    """
    home = home.expanduser()
    running = status(home)
    if running is not None:
        return running
    if port is None:
        port = port_from_environment()
    settings = ServerSettings(
        home=home,
        host=host,
        port=port,
        database_url=database_url,
        tls_cert=tls_cert,
        tls_key=tls_key,
    )
    if foreground:
        from modelport.server.main import serve

        serve(settings)
        return ServerInfo(url="", pid=os.getpid(), port=port, host=host, token=read_token(home))
    make_private(home, umask=False)  # this is the CLI's process: its own umask stays
    args = [sys.executable, "-m", "modelport.server", "--home", str(home), "--host", host]
    args += ["--port", str(port)]
    if tls_cert and tls_key:
        args += ["--tls-cert", str(tls_cert.resolve()), "--tls-key", str(tls_key.resolve())]
    env = dict(os.environ)
    if database_url:
        # Through the environment (readable by this user only), not argv: `ps` shows argv to
        # every local user, and the URL may hold the database password.
        env["MODELPORT_DATABASE_URL"] = database_url
    fd = os.open(home / LOG_FILE, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with open(fd, "ab") as log:
        proc = subprocess.Popen(
            args,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # setsid: survives the terminal and the calling process
            close_fds=True,
        )
    return _wait_ready(home, proc)


def port_from_environment() -> int:
    """MODELPORT_PORT (the server's --port setting), else 0: a free port."""
    text = os.environ.get("MODELPORT_PORT", "").strip() or "0"
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise UserError(f"MODELPORT_PORT must be a TCP port number (0-65535), got {text!r}.")
    return port


def _wait_ready(home: Path, proc: subprocess.Popen[bytes]) -> ServerInfo:
    deadline = time.monotonic() + START_TIMEOUT
    delay = 0.02
    while time.monotonic() < deadline:
        code = proc.poll()
        if code is not None:
            raise ServerError(
                f"the workspace server exited with code {code} while starting; "
                f"see {home / LOG_FILE}: {_log_tail(home)}"
            )
        info = read_info(home)
        if info is not None and info.pid == proc.pid and _healthy(info):
            return info
        time.sleep(delay)  # polling with a deadline, not waiting a fixed time
        delay = min(delay * 1.5, 0.25)
    proc.terminate()
    raise ServerError(
        f"the workspace server did not start within {START_TIMEOUT:.0f} s; see {home / LOG_FILE}"
    )


def _log_tail(home: Path, lines: int = 3) -> str:
    try:
        text = (home / LOG_FILE).read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " | ".join(text[-lines:])


def stop(home: Path) -> bool:
    """Stop the server of ``home``; False when none was running."""
    home = home.expanduser()
    info = read_info(home)
    if info is None or not _alive(info.pid):
        with contextlib.suppress(FileNotFoundError):
            (home / "server.json").unlink()
        return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(info.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    while time.monotonic() < deadline and _alive(info.pid):
        time.sleep(0.05)
    if _alive(info.pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(info.pid, signal.SIGKILL)
    with contextlib.suppress(FileNotFoundError):
        (home / "server.json").unlink()
    return True


def ensure_running(home: Path) -> ServerInfo:
    """The running server of ``home``, starting one if needed (one even if called concurrently)."""
    home = home.expanduser()
    home.mkdir(parents=True, exist_ok=True)
    with FileLock(str(home / LOCK_FILE), timeout=START_TIMEOUT + 10):
        running = status(home)
        if running is not None:
            return running
        return start(home)
