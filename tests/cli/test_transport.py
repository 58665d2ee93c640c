"""The CLI's plain-HTTP transport (sdk/_http_lite.py) fails and recovers as the httpx one did:
a refused connection to a local server named by a stale server.json goes through the daemon once
more; a remote server that is not there is one line naming its URL."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
from pathlib import Path

from modelport.server import daemon
from tests.cli.conftest import assert_one_line_error, run_cli


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_refused_port_in_server_json_is_retried_through_the_daemon(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {"MODELPORT_HOME": str(home)}
    started = run_cli("server", "start", "-o", "json", env=env)
    assert started.returncode == 0, started.stderr
    first_pid = int(json.loads(started.stdout)["pid"])
    try:
        # the server's own process still runs, but server.json names a port nobody listens on
        info = json.loads((home / "server.json").read_text())
        port = _closed_port()
        info |= {"url": f"http://127.0.0.1:{port}", "port": port}
        (home / "server.json").write_text(json.dumps(info))
        listed = run_cli("model", "list", "-o", "json", env=env)
        assert listed.returncode == 0, listed.stderr
        assert json.loads(listed.stdout) == []
        assert json.loads((home / "server.json").read_text())["port"] != port
    finally:
        daemon.stop(home)
        with contextlib.suppress(ProcessLookupError):
            os.kill(first_pid, signal.SIGTERM)


def test_a_remote_server_that_is_not_there_is_one_line_naming_it() -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    result = run_cli("model", "list", env={"MODELPORT_URL": url, "MODELPORT_TOKEN": "t"})
    line = assert_one_line_error(result)
    assert line == (
        f"Error: Cannot reach the workspace server at {url} ([Errno 111] Connection refused): "
        "check that it runs and that the URL is right (MODELPORT_URL or server_url)."
    )
