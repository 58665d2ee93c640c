"""The workspace server over HTTPS: started by the daemon, trusted by local SDK clients."""

from __future__ import annotations

import datetime
import ipaddress
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from modelport.errors import ServerError
from modelport.server import daemon


def _self_signed(folder: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_https_server_is_found_and_trusted_by_a_local_sdk_client(tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path / "tls")
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
    cert, _ = _self_signed(tmp_path / "a")
    _, other_key = _self_signed(tmp_path / "b")
    home = tmp_path / "home"
    with pytest.raises(ServerError) as caught:
        daemon.start(home, tls_cert=cert, tls_key=other_key)
    assert "cannot use --tls-cert" in str(caught.value)
    assert "Traceback" not in str(caught.value)
    assert daemon.status(home) is None


def test_cli_refuses_a_certificate_without_its_key(tmp_path: Path) -> None:
    cert, _ = _self_signed(tmp_path / "tls")
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
