"""Real inference-server processes on free loopback ports, and a tiny digits model trained on the spot.

- ``Served``: a running ``python -m modelport.serving`` (``.url``, ``.proc``, ``.log()``, ``.stop()``).
- ``start_server(script_text, tmp_path, *args, env=...)``: write the entry script, start, wait ready.
- ``digits_app_root`` (session): an app root holding ``azureml-models/digits/1/model.joblib``.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

START_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Served:
    def __init__(self, proc: subprocess.Popen[bytes], port: int, log_path: Path) -> None:
        self.proc = proc
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = log_path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(
        self, path: str = "/", port: int | None = None, timeout: float = START_TIMEOUT
    ) -> None:
        url = f"http://127.0.0.1:{port or self.port}{path}"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited with {self.proc.returncode}:\n{self.log()}")
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"server not ready after {timeout} s:\n{self.log()}")

    def stop(self, timeout: float = 20) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return int(self.proc.returncode)


def launch(
    cwd: Path, *args: str, env: dict[str, str] | None = None, port: int | None = None
) -> Served:
    port = port or free_port()
    log_path = cwd / f"server-{port}.log"
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    full_env.pop("AZUREML_MODEL_DIR", None) if "AZUREML_MODEL_DIR" not in (env or {}) else None
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "modelport.serving", "--port", str(port), *args],
            cwd=cwd,
            env=full_env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    return Served(proc, port, log_path)


def write_script(directory: Path, text: str, name: str = "score.py") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(textwrap.dedent(text))
    return path


def start_server(
    directory: Path, script: str, *args: str, env: dict[str, str] | None = None
) -> Served:
    write_script(directory, script)
    served = launch(directory, "--entry-script", "score.py", *args, env=env)
    served.wait_ready()
    return served


def in_flight(served: Served) -> int:
    for line in httpx.get(served.url + "/metrics").text.splitlines():
        if line.startswith("modelport_requests_in_flight "):
            return int(float(line.split()[1]))
    raise AssertionError("no in-flight gauge")


def wait_in_flight(served: Served, n: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while in_flight(served) < n:
        assert time.monotonic() < deadline, f"never reached {n} in flight"
        time.sleep(0.01)


@pytest.fixture(scope="session")
def digits_app_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """App root with the digits LogisticRegression at azureml-models/digits/1/model.joblib."""
    import joblib
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression

    root = tmp_path_factory.mktemp("app")
    x, y = load_digits(return_X_y=True)
    model = LogisticRegression(max_iter=300).fit(x[:500], y[:500])
    target = root / "azureml-models" / "digits" / "1"
    target.mkdir(parents=True)
    joblib.dump(model, target / "model.joblib")
    return root


@pytest.fixture(scope="session")
def digits_rows() -> tuple[list[list[float]], list[int]]:
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    return [list(map(float, r)) for r in x[:3]], [int(v) for v in y[:3]]


@pytest.fixture
def stop_after() -> Iterator[list[Served]]:
    servers: list[Served] = []
    yield servers
    for s in servers:
        s.stop()
