"""Shared by the batch tests: one real Ray cluster and one built script environment for the package.

The cluster is ``ray start --head --block`` on 127.0.0.1 (dashboard and usage stats off, 2 CPUs,
a Ray client server for ``ray://``) in a private temp dir, so no other ``ray.init()`` on this
machine finds it; stopping the ``--block`` process stops every process it started. The
environment is a real uv build (``six``, which the test venv does not have) in a session cache.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

os.environ["RAY_USAGE_STATS_ENABLED"] = "0"  # before any cluster starts: nothing leaves the host

# a pip package the driver's venv lacks: a script that imports it runs in its own environment
ENV_PACKAGE = "six==1.16.0"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass(frozen=True)
class RayCluster:
    address: str  # for ray.init(address=...) in this process
    client: str  # ray://127.0.0.1:PORT for a driver in another process


@pytest.fixture(scope="package")
def ray_cluster() -> Iterator[RayCluster]:
    temp = tempfile.mkdtemp(prefix="rb-", dir="/tmp")  # short: Ray's socket paths must fit
    port, client = _free_port(), _free_port()
    ray_bin = os.path.join(os.path.dirname(sys.executable), "ray")
    with pytest.MonkeyPatch.context() as mp:
        # our own token (not the shared ~/.ray/auth_token), for the head, this process and the
        # CLI drivers the tests start; and "127.0.0.1" stays loopback: Ray otherwise rewrites a
        # localhost address to the machine's other interface before it connects
        mp.setenv("RAY_AUTH_MODE", "token")
        mp.setenv("RAY_AUTH_TOKEN", secrets.token_hex(32))
        # a ray:// client's own server starts in its 30 s budget on a quiet machine only
        mp.setenv("RAY_CLIENT_SERVER_CHECK_CHANNEL_TIMEOUT_S", "180")
        mp.setenv("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # read when ray is imported:
        import ray  # after it

        head = subprocess.Popen(
            [ray_bin, "start", "--head", "--block", "--node-ip-address", "127.0.0.1",
             "--port", str(port), "--ray-client-server-port", str(client), "--num-cpus", "2",
             "--include-dashboard", "false", "--disable-usage-stats", "--temp-dir", temp],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        address = f"127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 90
            while True:  # the client server listens last: then the whole head is up
                try:
                    socket.create_connection(("127.0.0.1", client), timeout=1).close()
                    break
                except OSError:
                    if head.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError("ray start --head did not come up") from None
                    time.sleep(0.2)
            ray.init(address=address, log_to_driver=False)
            yield RayCluster(address, f"ray://127.0.0.1:{client}")
        finally:
            ray.shutdown()
            head.send_signal(signal.SIGTERM)  # --block: stops the processes it started
            try:
                head.wait(timeout=30)
            except subprocess.TimeoutExpired:
                head.kill()
                head.wait()
            shutil.rmtree(temp, ignore_errors=True)


@dataclass(frozen=True)
class BuiltEnv:
    requirements: Path  # what --environment names
    cache: Path  # MODELPORT_ENV_CACHE
    python: str  # the built interpreter


@pytest.fixture(scope="package")
def script_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BuiltEnv]:
    from modelport.parallel_run.environment import build

    root = tmp_path_factory.mktemp("batch-env")
    requirements = root / "requirements.txt"
    requirements.write_text(ENV_PACKAGE + "\n")
    cache = root / "cache"
    with pytest.MonkeyPatch.context() as mp:  # tests set it again where they build or reuse
        mp.setenv("MODELPORT_ENV_CACHE", str(cache))
        built = build(str(requirements), lambda line: None)
    yield BuiltEnv(requirements, cache, built.python)
