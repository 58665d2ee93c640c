"""Data-plane auth from MODELPORT_AUTH_FILE (keys, JWT tokens, rotation without restart) and TLS."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.serving.conftest import Served, launch, start_server, write_script

SCRIPT = "def init():\n    pass\n\ndef run(raw):\n    return 'ok'\n"


def sha(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def write_auth(path: Path, data: dict[str, object]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, path)


def jwt(secret_hex: str, claims: dict[str, object], alg: str = "HS256") -> str:
    def b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    head = b64(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    body = b64(json.dumps(claims).encode())
    sig = hmac.new(bytes.fromhex(secret_hex), f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(sig)}"


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Served, Path]]:
    root = tmp_path_factory.mktemp("auth-key")
    auth = root / "auth.json"
    write_auth(auth, {"mode": "key", "keyHashes": [sha("primary-key"), sha("secondary-key")]})
    s = start_server(root, SCRIPT, env={"MODELPORT_AUTH_FILE": str(auth)})
    yield s, auth
    s.stop()


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


def test_key_auth_on_score_and_swagger(keyed: tuple[Served, Path]) -> None:
    s, _ = keyed
    for path in ("/score", "/swagger.json"):
        r = httpx.get(s.url + path)
        assert r.status_code == 401
        assert r.headers["www-authenticate"] == "Bearer"
        assert "Authorization: Bearer" in r.json()["message"]
        assert httpx.get(s.url + path, headers=bearer("nope")).status_code == 401
        assert httpx.get(s.url + path, headers=bearer("primary-key")).status_code == 200
        assert httpx.get(s.url + path, headers=bearer("secondary-key")).status_code == 200
    assert (
        httpx.post(
            s.url + "/score", content=b"{}", headers={"Authorization": "Basic primary-key"}
        ).status_code
        == 401
    )


def test_health_metrics_and_preflight_stay_open(keyed: tuple[Served, Path]) -> None:
    s, _ = keyed
    assert httpx.get(s.url + "/").status_code == 200
    assert httpx.get(s.url + "/metrics").status_code == 200
    assert httpx.options(s.url + "/score").status_code == 200


def test_key_rotation_needs_no_restart(keyed: tuple[Served, Path]) -> None:
    s, auth = keyed
    write_auth(auth, {"mode": "key", "keyHashes": [sha("rotated-key")]})
    deadline = time.monotonic() + 10
    while (
        httpx.post(s.url + "/score", content=b"{}", headers=bearer("rotated-key")).status_code
        != 200
    ):
        assert time.monotonic() < deadline, "rotated key never accepted"
        time.sleep(0.1)
    assert (
        httpx.post(s.url + "/score", content=b"{}", headers=bearer("primary-key")).status_code
        == 401
    )
    # a broken rewrite keeps the last good keys: once the server has read it (its log says so)
    auth.write_text("{not json")
    deadline = time.monotonic() + 10
    while "keeping the previous settings" not in s.log():
        httpx.post(s.url + "/score", content=b"{}", headers=bearer("rotated-key"))  # reads it
        assert time.monotonic() < deadline, "the broken auth file was never read"
        time.sleep(0.1)  # poll interval, bounded by the deadline
    assert (
        httpx.post(s.url + "/score", content=b"{}", headers=bearer("rotated-key")).status_code
        == 200
    )


def test_token_auth(tmp_path: Path) -> None:
    secret, old_secret = os.urandom(32).hex(), os.urandom(32).hex()
    auth = tmp_path / "auth.json"
    write_auth(auth, {"mode": "token", "audience": "digits-svc", "secrets": [secret, old_secret]})
    s = start_server(tmp_path, SCRIPT, env={"MODELPORT_AUTH_FILE": str(auth)})
    try:
        now = int(time.time())
        good = {"aud": "digits-svc", "exp": now + 600}

        def status(token: str) -> int:
            return httpx.post(s.url + "/score", content=b"{}", headers=bearer(token)).status_code

        assert status(jwt(secret, good)) == 200
        assert status(jwt(old_secret, {"aud": ["x", "digits-svc"], "exp": now + 600})) == 200
        assert status(jwt(secret, {"aud": "other", "exp": now + 600})) == 401
        expired = httpx.post(
            s.url + "/score",
            content=b"{}",
            headers=bearer(jwt(secret, {"aud": "digits-svc", "exp": now - 5})),
        )
        assert expired.status_code == 401
        assert expired.json() == {"message": "The token has expired."}
        assert status(jwt(os.urandom(32).hex(), good)) == 401
        assert status(jwt(secret, good, alg="none")) == 401
        assert status(jwt(secret, {"aud": "digits-svc"})) == 401
        assert status("a.b") == 401
    finally:
        s.stop()


def test_unusable_auth_file_exits_4(tmp_path: Path) -> None:
    write_script(tmp_path, SCRIPT)
    (tmp_path / "auth.json").write_text('{"mode": "key", "keyHashes": ["zz"]}')
    for env in (
        {"MODELPORT_AUTH_FILE": str(tmp_path / "missing.json")},
        {"MODELPORT_AUTH_FILE": str(tmp_path / "auth.json")},
    ):
        s = launch(tmp_path, "--entry-script", "score.py", env=env)
        assert s.proc.wait(30) == 4
        assert s.log().strip().startswith("error: auth file")


def make_cert(directory: Path, name: str) -> tuple[Path, Path]:
    cert, key = directory / f"{name}.pem", directory / f"{name}.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def https_score(s: Served, cert: Path) -> httpx.Response:
    """The first 200 from /score over https (polled until the server is up)."""
    ctx = ssl.create_default_context(cafile=str(cert))
    deadline = time.monotonic() + 30
    while True:
        try:
            r = httpx.post(f"https://127.0.0.1:{s.port}/score", content=b"{}", verify=ctx)
            if r.status_code == 200:
                return r
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline and s.proc.poll() is None, s.log()
        time.sleep(0.05)


def test_tls_serves_https_with_tls12_minimum(tmp_path: Path) -> None:
    cert, key = make_cert(tmp_path, "server")
    write_script(tmp_path, SCRIPT)
    s = launch(
        tmp_path, "--entry-script", "score.py", "--tls-cert", str(cert), "--tls-key", str(key)
    )
    try:
        assert https_score(s, cert).json() == "ok"
        old = ssl.create_default_context(cafile=str(cert))
        old.minimum_version = ssl.TLSVersion.TLSv1
        old.maximum_version = ssl.TLSVersion.TLSv1_1
        with pytest.raises(httpx.ConnectError):
            httpx.post(f"https://127.0.0.1:{s.port}/score", content=b"{}", verify=old)
    finally:
        s.stop()


def test_a_tls12_client_cannot_renegotiate(tmp_path: Path) -> None:
    """A client asking to redo the handshake mid-connection is refused (each handshake costs the
    server far more than the client): OpenSSL 3's default, and OP_NO_RENEGOTIATION for others."""
    cert, key = make_cert(tmp_path, "server")
    write_script(tmp_path, SCRIPT)
    s = launch(
        tmp_path, "--entry-script", "score.py", "--tls-cert", str(cert), "--tls-key", str(key)
    )
    try:
        https_score(s, cert)
        # s_client renegotiates on an "R" line; it reports the server's refusal and exits
        out = subprocess.run(
            ["openssl", "s_client", "-connect", f"127.0.0.1:{s.port}", "-tls1_2",
             "-CAfile", str(cert)],
            input="R\n", capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        text = out.stdout + out.stderr
        assert "RENEGOTIATING" in text, text
        assert "no renegotiation" in text, text
    finally:
        s.stop()


def test_mismatched_cert_and_key_exit_4(tmp_path: Path) -> None:
    cert, _ = make_cert(tmp_path, "one")
    _, other_key = make_cert(tmp_path, "two")
    write_script(tmp_path, SCRIPT)
    for args in (
        ("--tls-cert", str(cert), "--tls-key", str(other_key)),
        ("--tls-cert", str(tmp_path / "none.pem"), "--tls-key", str(other_key)),
    ):
        s = launch(tmp_path, "--entry-script", "score.py", *args)
        assert s.proc.wait(30) == 4
        lines = s.log().strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: TLS"), lines
