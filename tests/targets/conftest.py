"""Fixtures for the local target: a driver in a tmp run dir, tiny entry scripts, process checks.

Every test's driver is torn down by deleting its services and then checking the process table:
no process marked with the run dir may survive.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from modelport.targets.base import LivenessProbe, ReplicaSetSpec
from modelport.targets.local import LocalDriver
from modelport.targets.local.procs import pids_with_env
from modelport.targets.local.replica import RUN_DIR_ENV, probe

PYTHON = str(Path(__file__).resolve().parents[2] / ".venv" / "bin" / "python")

SCRIPTS = {
    # pure Python: answers with who served it, so tests can see replicas and revisions
    "echo.py": """
import json, os
def init():
    print("echo model loaded")
def run(raw):
    return {"pid": os.getpid(), "revision": os.environ["MODELPORT_REVISION"], "input": json.loads(raw)}
""",
    "digits.py": """
import json, os
def init():
    global model
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression
    X, y = load_digits(return_X_y=True)
    model = LogisticRegression(max_iter=100).fit(X[:200], y[:200])
def run(raw):
    import numpy as np
    rows = np.array(json.loads(raw)["data"])
    return {"pid": os.getpid(), "predictions": model.predict(rows).tolist()}
""",
    "init_fails.py": """
def init():
    print("loading the model")
    raise ValueError("no model file at /nowhere/model.pkl")
def run(raw):
    return raw
""",
    "import_fails.py": """
import nosuchpackage_xyz
def init():
    pass
def run(raw):
    return raw
""",
    "dies.py": """
import os
def init():
    print("about to die")
    os._exit(1)
def run(raw):
    return raw
""",
    "hangs.py": """
import os, time
def init():
    pass
async def run(raw):
    time.sleep(60)  # blocks the event loop: the health port stops answering
    return raw
""",
}


@pytest.fixture()
def app_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "app"
    folder.mkdir()
    for name, text in SCRIPTS.items():
        (folder / name).write_text(text.lstrip())
    return folder


@pytest.fixture()
def run_dir(tmp_path: Path) -> Path:
    return tmp_path / "run"


@pytest.fixture()
def driver(run_dir: Path) -> Iterator[LocalDriver]:
    drv = LocalDriver(run_dir, backoff_base=0.2, backoff_cap=2.0, stop_grace=5.0)
    yield drv
    cleanup(drv)


def cleanup(drv: LocalDriver) -> None:
    for service in drv.services():
        drv.delete(service)
    drv.close()
    assert replica_pids(drv.run_dir) == [], "replica processes outlived delete()"


def replica_pids(run_dir: Path) -> list[int]:
    return pids_with_env(RUN_DIR_ENV, str(run_dir.resolve()))


def make_spec(app_dir: Path, script: str = "echo.py", **kw: Any) -> ReplicaSetSpec:
    values: dict[str, Any] = {
        "service": "ws/svc",
        "revision": 1,
        "working_dir": str(app_dir),
        "argv": ("--entry-script", script),
        "python": PYTHON,
        "liveness": LivenessProbe(period_seconds=1, timeout_seconds=2),
        # short drain so retire/delete stay fast in tests
        "env": {"MODELPORT_DRAIN_GRACE": "0.5", "MODELPORT_GRACEFUL_TIMEOUT": "3"},
    }
    values.update(kw)
    return ReplicaSetSpec(**values)


def wait_for(cond: Callable[[], Any], timeout: float = 60.0, what: str = "condition") -> Any:
    """Poll ``cond`` until it returns something truthy; fail with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


def proc_status(pid: int, field: str) -> str:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return line.split(":", 1)[1].strip()
    raise KeyError(field)


def is_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def kill9(pid: int) -> None:
    os.kill(pid, 9)


HANG_REQUEST = b"POST /score HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"


def hang_replica(port: int, health_port: int) -> socket.socket:
    """Send hangs.py a request and return once its event loop is blocked (health stops answering).

    Retries: the shared port opens a moment after the health port says ready.
    """

    def attempt() -> socket.socket | None:
        try:
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        except OSError:
            return None
        sock.sendall(HANG_REQUEST)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if probe(health_port, 0.3) is None:
                return sock
            time.sleep(0.05)
        sock.close()
        return None

    hung: socket.socket = wait_for(attempt, timeout=30, what="run() to block the replica")
    return hung
