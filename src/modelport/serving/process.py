"""Sockets, TLS and the supervisor of ``--workers N`` processes."""

from __future__ import annotations

import errno
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from typing import Any

from modelport.serving.logs import log

EXIT_OK, EXIT_USAGE, EXIT_INIT, EXIT_CONFIG, EXIT_LISTEN = 0, 2, 3, 4, 5
CHILD_ENV = "MODELPORT_SERVING_CHILD"  # set in --workers children: the parent printed the banner


class ConfigError(Exception):
    """A TLS or auth file problem: one line, exit code 4."""


def bind(host: str, port: int, reuse_port: bool = False, listen: bool = True) -> socket.socket:
    """A TCP socket bound (and listening unless told otherwise). ``reuse_port`` (SO_REUSEPORT)
    lets processes that all ask for it share the port; without it a port in use is EADDRINUSE, so
    a second server never silently takes half of the first one's traffic. A bound socket that does
    not listen yet gets no connections, so a replica still in init() takes no share."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
        if listen:
            sock.listen(2048)
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


def port_in_use(host: str, port: int) -> bool:
    """True when binding the port without SO_REUSEPORT fails (another socket holds it)."""
    try:
        bind(host, port, listen=False).close()
    except OSError as exc:
        return exc.errno == errno.EADDRINUSE
    return False


def _listener_inodes(port: int) -> set[str]:
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    fields = line.split()
                    if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                        inodes.add(fields[9])
        except (OSError, StopIteration, IndexError, ValueError):
            continue
    return inodes


def port_owner(port: int) -> str | None:
    """``pid N (command line)`` of a process listening on the port, where /proc shows it."""
    inodes = {f"socket:[{i}]" for i in _listener_inodes(port)}
    if not inodes:
        return None
    for pid in filter(str.isdigit, os.listdir("/proc")):
        fd_dir = f"/proc/{pid}/fd"
        try:
            links = {os.readlink(os.path.join(fd_dir, fd)) for fd in os.listdir(fd_dir)}
        except OSError:
            continue
        if links & inodes:
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
            except OSError:
                cmd = "?"
            return f"pid {pid} ({cmd[:200]})"
    return None


def port_has_listener(port: int) -> bool:
    """True when some socket already listens on this TCP port (Linux /proc; False elsewhere)."""
    return bool(_listener_inodes(port))


def tls_context(cert: str | None, key: str | None) -> ssl.SSLContext | None:
    if not cert and not key:
        return None
    if not (cert and key):
        raise ConfigError("TLS needs both --tls-cert and --tls-key.")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    # no client-started renegotiation (OpenSSL 3 refuses it by default; 1.1.1 builds do not)
    ctx.options |= ssl.OP_NO_RENEGOTIATION
    try:
        ctx.load_cert_chain(cert, key)
    except FileNotFoundError as exc:
        raise ConfigError(f"TLS file not readable: {exc.filename}") from None
    except (ssl.SSLError, OSError) as exc:
        raise ConfigError(
            f"TLS certificate {cert} and key {key} cannot be used together: {exc}"
        ) from None
    return ctx


def supervise(argv: list[str], settings: Any) -> int:
    """Start N single-worker processes on the same port; forward SIGTERM/SIGINT; restart crashed ones."""
    n = settings.workers
    # the workers of one server are the port sharing that needs no flag
    cmd = [sys.executable, "-m", "modelport.serving", *argv, "--workers", "1", "--share-port"]
    env = {**os.environ, CHILD_ENV: "1"}
    children: list[subprocess.Popen[bytes]] = []
    stopping = False

    def stop(signum: int, frame: Any) -> None:
        nonlocal stopping
        stopping = True
        for c in children:
            if c.poll() is None:
                c.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    children.extend(subprocess.Popen(cmd, env=env) for _ in range(n))
    log.info("started %d worker processes: %s", n, [c.pid for c in children])
    rc = EXIT_OK
    while True:
        alive = False
        for i, c in enumerate(children):
            code = c.poll()
            if code is None:
                alive = True
                continue
            if stopping:
                continue
            if code in (EXIT_INIT, EXIT_CONFIG, EXIT_LISTEN, EXIT_USAGE):
                log.error("worker %d exited with code %d; stopping the others", c.pid, code)
                rc = code
                stop(signal.SIGTERM, None)
                continue
            log.error("worker %d exited with code %d; starting a new one", c.pid, code)
            children[i] = subprocess.Popen(cmd, env=env)
            alive = True
        if not alive:
            return rc
        time.sleep(0.2)
