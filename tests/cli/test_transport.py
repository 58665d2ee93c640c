"""The CLI's plain-HTTP transport (sdk/_http_lite.py) fails and recovers as the httpx one did:
a refused connection to a local server named by a stale server.json goes through the daemon once
more; a remote server that is not there is one line naming its URL."""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from modelport.sdk._http_lite import LiteConnection
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


class _ClosingHandler(BaseHTTPRequestHandler):
    """Answers keep-alive style (no ``Connection: close``), then closes the connection."""

    protocol_version = "HTTP/1.1"

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.dumps({"got": len(self.rfile.read(length))}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    do_GET = do_PUT = _answer

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_a_connection_the_server_closed_while_idle_is_not_reused_even_for_an_upload() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ClosingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    lite = LiteConnection(
        f"http://127.0.0.1:{server.server_address[1]}/api/v1", {}, connect=5.0, read=10.0
    )
    try:
        assert lite.request("GET", "/first").json() == {"got": 0}
        sock = lite._conn.sock
        assert sock is not None  # kept: the answer did not say it would close
        deadline = time.monotonic() + 10
        while not select.select([sock], [], [], 0.05)[0]:  # until the server's close arrives
            assert time.monotonic() < deadline, "the server did not close the connection"
        # a body that can be sent only once: it must go over a new connection
        answer = lite.request(
            "PUT", "/blob", content=iter([b"ab", b"cd"]), headers={"Content-Length": "4"}
        )
        assert answer.json() == {"got": 4}
    finally:
        lite.close()
        server.shutdown()
        server.server_close()
