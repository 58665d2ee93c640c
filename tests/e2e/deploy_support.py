"""Helpers for the deployment tests: a server sharing one environment cache, uploads, models,
deploys that wait with a deadline, and process/port checks through /proc."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import os
import socket
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ServerProcess

WS = "/workspaces/default"
MINIMAL = {"name": "AzureML-Minimal", "version": None}
SKLEARN = {"name": "AzureML-sklearn-0.24.1-ubuntu18.04-py37-cpu-inference", "version": None}
# Built environments are shared by every test server (and kept between runs on a developer box),
# so each environment is built once per machine, not once per test.
ENV_CACHE = Path(
    os.environ.get("MODELPORT_TEST_ENV_CACHE")
    or Path(tempfile.gettempdir()) / "modelport-test-envs"
)


def start_deploy_server(
    factory: Callable[..., ServerProcess], home: Path, **kw: Any
) -> ServerProcess:
    """A server whose ``HOME/environments`` (the build cache) is the shared test cache."""
    home.mkdir(parents=True, exist_ok=True)
    ENV_CACHE.mkdir(parents=True, exist_ok=True)
    link = home / "environments"
    if not link.exists():
        link.symlink_to(ENV_CACHE, target_is_directory=True)
    return factory(home=home, **kw)


def module_server(name: str) -> Any:
    """A module-scoped fixture: a deploy server of its own, its replicas swept away at the end.

    Use as ``server = module_server("auth")`` at a test module's top level.
    """

    @pytest.fixture(scope="module")
    def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
        from tests.conftest import start_server

        proc = start_deploy_server(start_server, tmp_path_factory.mktemp(name) / "home")
        yield proc
        proc.stop()
        kill_leftovers(proc.home)

    return server


def upload(client: httpx.Client, data: bytes, path: str) -> dict[str, Any]:
    sha = hashlib.sha256(data).hexdigest()
    r = client.put(f"{WS}/blobs/{sha}", content=data)
    assert r.status_code in (200, 201), r.text
    return {"path": path, "sha256": sha, "size": len(data)}


def snapshot(client: httpx.Client, files: dict[str, str | bytes]) -> dict[str, Any]:
    entries = [upload(client, v.encode() if isinstance(v, str) else v, k) for k, v in files.items()]
    return {"files": entries}


def register_model(
    client: httpx.Client,
    name: str,
    filename: str,
    data: bytes,
    framework: str | None = None,
    properties: dict[str, str] | None = None,
) -> dict[str, Any]:
    entry = upload(client, data, filename)
    body: dict[str, Any] = {"name": name, "files": [entry], "modelRoot": filename}
    if framework:
        body["framework"] = framework
    if properties:
        body["properties"] = properties
    r = client.post(f"{WS}/models", json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


@functools.cache
def digits_model() -> bytes:
    """A small scikit-learn classifier of the digits data set (ships with scikit-learn)."""
    import joblib
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression

    x, y = load_digits(return_X_y=True)
    model = LogisticRegression(max_iter=300).fit(x[:500], y[:500])
    buf = io.BytesIO()
    joblib.dump(model, buf)
    return buf.getvalue()


def digits_rows(n: int = 3) -> list[list[float]]:
    from sklearn.datasets import load_digits

    x, _ = load_digits(return_X_y=True)
    return [list(map(float, row)) for row in x[-n:]]


DIGITS_SCORE = """
import json, os
import joblib
import numpy as np

model = None

def init():
    global model
    model = joblib.load(os.path.join(os.environ["AZUREML_MODEL_DIR"], "digits.pkl"))

def run(raw):
    data = np.array(json.loads(raw)["data"])
    return model.predict(data).tolist()
"""

SLOW_INIT_SCORE = """
import time

def init():
    time.sleep({seconds})

def run(raw):
    return {{"revision": "{tag}"}}
"""


def tagged_script(tag: str, init_seconds: float = 0.0) -> str:
    return SLOW_INIT_SCORE.format(seconds=init_seconds, tag=tag)


def deploy(
    client: httpx.Client,
    name: str,
    *,
    models: list[str] | None = None,
    script: str | None = None,
    environment: dict[str, Any] | None = None,
    config: dict[str, Any] | None = None,
    extra_files: dict[str, str] | None = None,
    overwrite: bool = False,
) -> httpx.Response:
    body: dict[str, Any] = {"name": name, "models": models or [], "overwrite": overwrite}
    if script is not None:
        body["inferenceConfig"] = {"entryScript": "score.py"}
        body["sourceSnapshot"] = snapshot(client, {"score.py": script, **(extra_files or {})})
        body["environment"] = environment or MINIMAL
    else:
        body["inferenceConfig"] = None
    if config is not None:
        body["deploymentConfig"] = config
    return client.post(f"{WS}/services", json=body)


def wait_operation(client: httpx.Client, op_id: str, timeout: float = 240.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = client.get(f"{WS}/operations/{op_id}")
        assert r.status_code == 200, r.text
        op = dict(r.json())
        if op["state"] != "Running":
            return op
        time.sleep(0.2)  # poll interval, bounded by the deadline
    raise AssertionError(f"operation {op_id} still running after {timeout} s")


def deployed(
    client: httpx.Client, response: httpx.Response, timeout: float = 240.0
) -> dict[str, Any]:
    """Wait for the operation of a 202 answer; return the service afterwards."""
    assert response.status_code == 202, response.text
    op = wait_operation(client, response.json()["operation"]["id"], timeout)
    name = response.json()["service"]["name"] if "service" in response.json() else op["serviceName"]
    service = client.get(f"{WS}/services/{name}").json()
    service["_operation"] = op
    return dict(service)


def wait_state(
    client: httpx.Client, name: str, states: tuple[str, ...], timeout: float = 60.0
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    last: dict[str, Any] = {}
    while time.monotonic() < deadline:
        last = client.get(f"{WS}/services/{name}").json()
        if last.get("state") in states:
            return last
        time.sleep(0.2)  # poll interval, bounded by the deadline
    raise AssertionError(f"service {name} not in {states} after {timeout} s: {last}")


def delete_and_wait(client: httpx.Client, name: str, timeout: float = 60.0) -> None:
    r = client.delete(f"{WS}/services/{name}")
    assert r.status_code == 202, r.text
    op = wait_operation(client, r.json()["operation"]["id"], timeout)
    assert op["state"] == "Succeeded", op
    assert client.get(f"{WS}/services/{name}").status_code == 404


def replica_pids(home: Path) -> list[int]:
    """Processes (other than the server) whose environment points into this server's home."""
    marker = str(home).encode()
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                env = f.read()
            with open(f"/proc/{entry}/stat", "rb") as f:
                state = f.read().rsplit(b")", 1)[1].split()[0]
        except OSError:
            continue
        if state != b"Z" and b"AML_APP_ROOT=" + marker in env:
            pids.append(int(entry))
    return pids


def port_is_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)  # poll interval, bounded by the deadline
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def kill_leftovers(home: Path) -> list[int]:
    """Last-resort teardown: SIGKILL replicas of this home that a failed test left running."""
    import signal

    left = replica_pids(home)
    for pid in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return left


def servers_with_cleanup(
    server_factory: Any, tmp_path: Path
) -> Iterator[Callable[..., ServerProcess]]:
    """Body of a ``deploy_servers`` fixture: ``make(home=None, **kw)`` starts servers sharing the
    environment cache; replicas a failed test left behind are killed afterwards."""
    homes: list[Path] = []

    def make(home: Path | None = None, **kw: Any) -> ServerProcess:
        home = home or tmp_path / f"home-{len(homes)}"
        homes.append(home)
        return start_deploy_server(server_factory, home, **kw)

    yield make
    for home in homes:
        kill_leftovers(home)
