"""Helpers shared by the security and fault tests: servers with extra environment, clients bound
to their own loopback address (so each test has its own failed-auth budget), blob checks."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import START_TIMEOUT, ServerProcess

WS = "/workspaces/default"
# Body limits of the shared limits server (conftest.py, test_limits_and_paths.py)
JSON_LIMIT = 64 * 1024
UPLOAD_LIMIT = 1024 * 1024


def start_server_with_env(
    home: Path,
    env: dict[str, str],
    database_url: str | None = None,
    artifacts: Path | None = None,
    extra_args: list[str] | None = None,
    prefix: list[str] | None = None,
) -> ServerProcess:
    """Like ``tests.conftest.start_server`` but with ``env`` added (limits, windows), and the
    command run under ``prefix`` (e.g. ``prlimit --nofile=256:256 --``)."""
    home.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        (home / "server.json").unlink()
    args = [*(prefix or []), sys.executable, "-m", "modelport.server", "--home", str(home)]
    args += ["--port", "0", "--host", "127.0.0.1", *(extra_args or [])]
    if database_url:
        args += ["--database-url", database_url]
    if artifacts:
        args += ["--artifacts", str(artifacts)]
    base = {k: v for k, v in os.environ.items() if not k.startswith("MODELPORT_")}
    with open(home / "server.log", "ab") as log:
        proc = subprocess.Popen(
            args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=base | env
        )
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            text = (home / "server.log").read_text(errors="replace")[-3000:]
            raise RuntimeError(f"server exited with {proc.returncode}:\n{text}")
        info = None
        with contextlib.suppress(OSError, ValueError):
            info = json.loads((home / "server.json").read_text())
        if info and info.get("pid") == proc.pid:
            with contextlib.suppress(httpx.HTTPError):
                url = info["url"]
                if httpx.get(f"{url}/api/v1/health", timeout=2, verify=False).status_code == 200:
                    token = (home / "token").read_text().strip()
                    return ServerProcess(home, proc, url, token, database_url, artifacts)
        time.sleep(0.05)  # poll interval, bounded by the deadline
    proc.kill()
    raise RuntimeError(f"server did not answer within {START_TIMEOUT} s")


def client_from(
    server: ServerProcess, address: str, token: str | None = None, **kw: Any
) -> httpx.Client:
    """A client whose requests come from ``address`` (any 127.x.y.z works on Linux loopback)."""
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return httpx.Client(
        base_url=f"{server.url}/api/v1",
        headers=headers,
        transport=httpx.HTTPTransport(local_address=address),
        timeout=kw.pop("timeout", 30.0),
        **kw,
    )


def blob_problems(artifacts: Path) -> list[str]:
    """Every stored blob whose content does not hash to its name, and leftover temp files."""
    problems = []
    root = artifacts / "blobs" / "sha256"
    for path in root.glob("*/*"):
        name = path.parent.name + path.name
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
        if digest.hexdigest() != name:
            problems.append(f"blob {name} holds content with sha256 {digest.hexdigest()}")
    return problems


def temp_files(artifacts: Path) -> list[str]:
    return sorted(p.name for p in (artifacts / "tmp").glob("*"))


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def leftover_guard(base: Path) -> Any:
    """Generator body of a module fixture: replicas that a module's failed test left running
    under ``base`` are killed after the module (the ones running before it are left alone)."""
    from tests.e2e.deploy_support import replica_pids

    before = set(replica_pids(base))
    yield
    import signal

    for pid in set(replica_pids(base)) - before:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def delete_services(server: ServerProcess, workspace: str = "default") -> None:
    """Delete every service of ``workspace`` and wait: a module's end on a shared server."""
    c = server.client()
    names = [s["name"] for s in c.get(f"/workspaces/{workspace}/services").json()["value"]]
    ops = [c.delete(f"/workspaces/{workspace}/services/{name}") for name in names]
    deadline = time.monotonic() + 120
    for name, r in zip(names, ops, strict=True):
        assert r.status_code in (202, 404), r.text
        while c.get(f"/workspaces/{workspace}/services/{name}").status_code != 404:
            assert time.monotonic() < deadline, f"service {name} was not deleted"
            time.sleep(0.1)  # poll interval, bounded by the deadline
