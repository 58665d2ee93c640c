"""The local services' replica processes that outlive a stopped workspace server.

Replicas run in their own sessions so that a server restart does not interrupt them (the next
server adopts them). ``modelport server stop`` names them and, with ``--services``, stops them:
found by the run-dir marker in their environment, as the local target's own stray sweep does.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections import Counter
from pathlib import Path

STOP_GRACE = 10.0  # seconds a replica gets to drain after SIGTERM before SIGKILL


def _run_dir(home: Path) -> Path:
    return (home / "replicas").resolve()  # where the server's local target keeps its replicas


def _leaders(home: Path) -> dict[int, str]:
    """pid -> service key of each live replica process (its workers share its marker: skipped)."""
    from modelport.targets.local import procs
    from modelport.targets.local.replica import RUN_DIR_ENV

    found: dict[int, str] = {}
    for pid in procs.pids_with_env(RUN_DIR_ENV, str(_run_dir(home))):
        info = procs.stat(pid)
        if info is not None and info.pgid == pid and info.state not in ("Z", "X"):
            found[pid] = procs.environ(pid).get("MODELPORT_SERVICE_KEY", "unknown service")
    return found


def running(home: Path) -> Counter[str]:
    """Service key (workspace/service) -> replicas still running."""
    return Counter(_leaders(home).values())


def describe(counts: Counter[str]) -> str:
    """'3 replicas of 2 services (ws/a: 2, ws/b: 1)'."""
    total = sum(counts.values())
    names = ", ".join(f"{key}: {n}" for key, n in sorted(counts.items()))
    replicas = "replica" if total == 1 else "replicas"
    services = "service" if len(counts) == 1 else "services"
    return f"{total} {replicas} of {len(counts)} {services} ({names})"


def stop(home: Path) -> None:
    """SIGTERM each replica's process group (it drains), SIGKILL what is left after the grace."""
    from modelport.targets.local.host import kill_strays

    leaders = _leaders(home)
    for pid in leaders:
        with contextlib.suppress(OSError):
            os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE
    while _leaders(home) and time.monotonic() < deadline:
        time.sleep(0.05)
    kill_strays(_run_dir(home), lambda env: True)
