"""The workspace server over HTTPS: started by the daemon, trusted by local SDK clients."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from modelport.errors import ServerError
from modelport.server import daemon
from tests.tls_support import self_signed


def test_https_server_is_found_and_trusted_by_a_local_sdk_client(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path / "tls")
    home = tmp_path / "home"
    info = daemon.start(home, tls_cert=cert, tls_key=key)
    try:
        assert info.url.startswith("https://127.0.0.1:"), info.url
        assert info.ca_file == str(cert.resolve())
        # plain HTTP on the same port gets no answer
        with pytest.raises(httpx.HTTPError):
            httpx.get(info.url.replace("https://", "http://") + "/api/v1/health", timeout=5)
        # an SDK client in a fresh process, pointed only at the home, trusts the server's cert
        env = {k: v for k, v in os.environ.items() if not k.startswith("MODELPORT_")}
        env["MODELPORT_HOME"] = str(home)
        code = "from modelport import Workspace; print(list(Workspace.list()))"
        out = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
        )
        assert out.returncode == 0, out.stderr
        assert "default" in out.stdout
        # and daemon.status finds it again over HTTPS
        found = daemon.status(home)
        assert found is not None and found.pid == info.pid
    finally:
        assert daemon.stop(home)


def test_a_key_that_does_not_match_the_certificate_stops_the_start_with_one_line(
    tmp_path: Path,
) -> None:
    cert, _ = self_signed(tmp_path / "a")
    _, other_key = self_signed(tmp_path / "b")
    home = tmp_path / "home"
    with pytest.raises(ServerError) as caught:
        daemon.start(home, tls_cert=cert, tls_key=other_key)
    assert "cannot use --tls-cert" in str(caught.value)
    assert "Traceback" not in str(caught.value)
    assert daemon.status(home) is None


def test_cli_refuses_a_certificate_without_its_key(tmp_path: Path) -> None:
    cert, _ = self_signed(tmp_path / "tls")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELPORT_")}
    env["MODELPORT_HOME"] = str(tmp_path / "home")
    out = subprocess.run(
        [sys.executable, "-m", "modelport.cli.main", "server", "start", "--tls-cert", str(cert)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 1, out
    assert out.stderr.strip().count("\n") == 0, out.stderr
    assert "--tls-key" in out.stderr
