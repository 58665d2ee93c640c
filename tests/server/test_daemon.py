"""``modelport.server.daemon``: start/status/stop, and one server for concurrent first uses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from modelport.server import daemon


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    h = tmp_path / "home"
    yield h
    daemon.stop(h)


def test_start_status_stop(home: Path) -> None:
    assert daemon.status(home) is None
    info = daemon.start(home)
    assert info.host == "127.0.0.1" and info.url == f"http://127.0.0.1:{info.port}"
    assert info.token == (home / "token").read_text().strip()
    assert httpx.get(f"{info.url}/api/v1/health").status_code == 200
    assert daemon.status(home) == info
    assert daemon.start(home) == info  # already running: same server
    assert json.loads((home / "server.json").read_text())["pid"] == info.pid
    assert daemon.stop(home) is True
    assert daemon.status(home) is None and not (home / "server.json").exists()
    assert daemon.stop(home) is False
    assert "listening on" in (home / "server.log").read_text()


def test_stale_server_json_is_not_running(home: Path) -> None:
    home.mkdir(parents=True)
    (home / "token").write_text("t")
    (home / "server.json").write_text(
        json.dumps({"url": "http://127.0.0.1:9", "pid": 2**22 + 12345, "port": 9, "host": "x"})
    )
    assert daemon.status(home) is None
    info = daemon.ensure_running(home)
    assert daemon.status(home) == info


def test_two_first_uses_start_one_server(home: Path) -> None:
    script = textwrap.dedent(
        f"""
        from pathlib import Path
        from modelport.server import daemon
        print(daemon.ensure_running(Path({str(home)!r})).pid)
        """
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELPORT_")}
    procs = [
        subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, env=env)
        for _ in range(3)
    ]
    pids = {p.communicate(timeout=120)[0].decode().strip() for p in procs}
    assert len(pids) == 1 and pids != {""}
    info = daemon.status(home)
    assert info is not None and str(info.pid) in pids


def test_start_failure_names_the_log(tmp_path: Path) -> None:
    home = tmp_path / "bad"
    with pytest.raises(Exception, match=r"server\.log"):
        daemon.start(home, database_url="mysql://nope/db")
