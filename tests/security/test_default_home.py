"""Root's default home: /root is 0700, so a root server on ``~/.modelport`` cannot give replicas
users of their own. Root's default is ``/var/lib/modelport`` (``MODELPORT_SYSTEM_HOME`` names
another, which is how these tests stay off the real one), unless ``~/.modelport`` already
exists: an existing install keeps its workspace. The server, the CLI and the SDK agree."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from modelport.server.home import choose_default, read_info


def test_root_defaults_to_the_system_home_unless_its_own_exists(tmp_path: Path) -> None:
    system = tmp_path / "var-lib-modelport"
    assert choose_default(tmp_path, True, system) == system
    assert choose_default(tmp_path, False, system) == tmp_path / ".modelport"
    (tmp_path / ".modelport").mkdir()  # an existing install keeps its home
    assert choose_default(tmp_path, True, system) == tmp_path / ".modelport"
    assert not system.exists()  # deciding creates nothing


def _env(user_home: Path, system: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELPORT_")}
    return env | {"HOME": str(user_home), "MODELPORT_SYSTEM_HOME": str(system)}


def _cli_home(env: dict[str, str]) -> str:
    args = [sys.executable, "-m", "modelport.cli.main", "server", "status", "-o", "json"]
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return str(json.loads(done.stdout)["home"])


SDK = (
    "from modelport.sdk._target import resolve_target\n"
    "from modelport.sdk.environment import default_cache_root\n"
    "print(resolve_target().home); print(default_cache_root())\n"
)


@pytest.mark.skipif(os.geteuid() != 0, reason="root's default home is the case under test")
def test_a_root_server_cli_and_sdk_agree_on_the_system_home(tmp_path: Path) -> None:
    user_home, system = tmp_path / "root-home", tmp_path / "system-home"
    user_home.mkdir()
    env = _env(user_home, system)
    assert _cli_home(env) == str(system)
    sdk = subprocess.run([sys.executable, "-c", SDK], env=env, capture_output=True, text=True)
    assert sdk.returncode == 0, sdk.stderr
    assert sdk.stdout.split() == [str(system), str(system / "environments")]

    # the server itself, started with neither --home nor MODELPORT_HOME
    args = [sys.executable, "-m", "modelport.server", "--port", "0", "--host", "127.0.0.1"]
    with open(tmp_path / "server.out", "wb") as out:
        proc = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while read_info(system) is None:
            assert proc.poll() is None, (tmp_path / "server.out").read_text()[-2000:]
            assert time.monotonic() < deadline, "the server did not start on the system home"
            time.sleep(0.05)
        assert (system / "token").is_file()
        assert not (user_home / ".modelport").exists()
    finally:
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=30)
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    # an existing ~/.modelport wins: the install keeps its workspace
    (user_home / ".modelport").mkdir()
    assert _cli_home(env) == str(user_home / ".modelport")
