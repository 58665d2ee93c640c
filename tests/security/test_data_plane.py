"""End-to-end checks of the services' data-plane protections (issue 4 items 1-3): key auth, token
auth and TLS on real replicas, and TLS for the workspace server. Where a piece is not built yet the
test says so with ``pytest.xfail`` naming what is missing, and asserts everything once it is."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ServerProcess
from tests.e2e.deploy_support import WS, deploy, deployed, tagged_script
from tests.security.support import delete_services, start_server_with_env
from tests.tls_support import self_signed


@pytest.fixture(scope="module")
def server(deploy_server: ServerProcess) -> Iterator[ServerProcess]:
    yield deploy_server  # tests/security/conftest.py: shared with other modules
    delete_services(deploy_server)


def _score(uri: str, credential: str | None, **kw: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {credential}"} if credential is not None else {}
    return httpx.post(uri, content=b"{}", headers=headers, timeout=10, **kw)


def _service(server: ServerProcess, name: str, config: dict[str, Any]) -> dict[str, Any]:
    c = server.client()
    existing = c.get(f"{WS}/services/{name}")
    if existing.status_code == 200:
        return dict(existing.json())
    r = deploy(c, name, script=tagged_script(name), config={"computeType": "local", **config})
    if r.status_code == 400 and "not wired" in r.text:
        pytest.xfail(f"refused by the services API: {r.json()['message']}")
    return deployed(c, r)


def _require_enforced(uri: str) -> None:
    if _score(uri, None).status_code == 200:
        pytest.xfail(
            "replicas do not enforce MODELPORT_AUTH_FILE yet (src/modelport/serving/auth.py is "
            "the phase-1 stub): /score answers 200 without a key"
        )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _jwt(claims: dict[str, Any], key: bytes, alg: str = "HS256") -> str:
    head = _b64(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    body = _b64(json.dumps(claims).encode())
    if alg == "none":
        return f"{head}.{body}."
    sig = hmac.new(key, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{_b64(sig)}"


def test_key_auth_401_with_www_authenticate_and_200_with_either_key(server: ServerProcess) -> None:
    svc = _service(server, "dp-keyed", {"authEnabled": True})
    assert svc["state"] == "Healthy", svc
    uri = svc["scoringUri"]
    _require_enforced(uri)
    keys = server.client().post(f"{WS}/services/dp-keyed/listKeys").json()
    for credential in (None, "wrong", keys["primaryKey"][:-1], keys["primaryKey"] + "x"):
        r = _score(uri, credential)
        assert r.status_code == 401, (credential, r.text)
        assert r.headers.get("www-authenticate", "").startswith("Bearer"), r.headers
        assert isinstance(r.json()["message"], str)
    for scheme in ("Basic", "Token"):
        r = httpx.post(
            uri, content=b"{}", headers={"Authorization": f"{scheme} {keys['primaryKey']}"}
        )
        assert r.status_code == 401
    assert _score(uri, keys["primaryKey"]).status_code == 200
    assert _score(uri, keys["secondaryKey"]).status_code == 200
    # the health route stays open for probes
    assert httpx.get(uri.rsplit("/score", 1)[0] + "/").status_code == 200


ROTATIONS = 2  # each must leave the other key's holder untouched; 3 proved no more than 2


def test_rotation_fails_no_request_of_the_other_key_holder(server: ServerProcess) -> None:
    svc = _service(server, "dp-keyed", {"authEnabled": True})
    uri = svc["scoringUri"]
    _require_enforced(uri)
    c = server.client()
    keys = c.post(f"{WS}/services/dp-keyed/listKeys").json()
    pids = sorted(r["pid"] for r in svc["replicas"])
    stop = threading.Event()
    codes: list[int] = []

    def holder_of_secondary() -> None:
        # a connection per request, as before (any replica may answer), without building a
        # client (and its TLS context) per request
        auth = {"Authorization": f"Bearer {keys['secondaryKey']}"}
        no_reuse = httpx.Limits(max_keepalive_connections=0)
        with httpx.Client(timeout=10, limits=no_reuse) as holder:
            while not stop.is_set():
                codes.append(holder.post(uri, content=b"{}", headers=auth).status_code)

    t = threading.Thread(target=holder_of_secondary)
    t.start()
    try:
        for _ in range(ROTATIONS):
            r = c.post(f"{WS}/services/dp-keyed/regenerateKeys", json={"keyType": "Primary"})
            assert r.status_code == 200, r.text
            new = r.json()["primaryKey"]
            deadline = time.monotonic() + 15
            while _score(uri, new).status_code != 200:
                assert time.monotonic() < deadline, "the new primary key was never accepted"
                time.sleep(0.1)  # poll interval, bounded by the deadline
            seen = len(codes)
            while len(codes) < seen + 10:  # the other key's holder keeps scoring meanwhile
                assert time.monotonic() < deadline + 15, "the key holder stalled"
                time.sleep(0.05)  # poll interval, bounded by the deadline
    finally:
        stop.set()
        t.join(30)
    assert codes and set(codes) == {200}, {c: codes.count(c) for c in set(codes)}
    assert _score(uri, keys["primaryKey"]).status_code == 401  # the old primary is gone
    now = c.get(f"{WS}/services/dp-keyed").json()
    assert sorted(r["pid"] for r in now["replicas"]) == pids, "rotation restarted replicas"
    print(f"\n[campaign] key rotation x{ROTATIONS} under load: {len(codes)} requests, 0 failed")


def test_token_auth_valid_expired_forged_wrong_audience(server: ServerProcess) -> None:
    svc = _service(server, "dp-tokened", {"tokenAuthEnabled": True})
    assert svc["state"] == "Healthy", svc
    uri = svc["scoringUri"]
    _require_enforced(uri)
    c = server.client()
    token = c.post(f"{WS}/services/dp-tokened/token").json()["accessToken"]
    assert _score(uri, token).status_code == 200
    secret = json.loads((server.home / "services/default/dp-tokened/auth.json").read_text())
    key = bytes.fromhex(secret["secrets"][0])
    now = int(time.time())
    good = {"aud": "dp-tokened", "iss": "modelport", "iat": now, "nbf": now - 5, "exp": now + 600}
    assert _score(uri, _jwt(good, key)).status_code == 200  # our own signing matches the server's
    bad = {
        "expired": _jwt({**good, "iat": now - 7200, "nbf": now - 7200, "exp": now - 3600}, key),
        "forged": _jwt(good, b"not-the-secret-" * 2),
        "wrong audience": _jwt({**good, "aud": "dp-keyed"}, key),
        "no audience": _jwt({k: v for k, v in good.items() if k != "aud"}, key),
        "alg none": _jwt(good, key, alg="none"),
        "not yet valid": _jwt({**good, "nbf": now + 3600}, key),
        "garbage": "a.b.c",
        "tampered claims": token.split(".")[0] + "." + _b64(json.dumps({**good, "exp": now + 10**6}).encode()) + "." + token.split(".")[2],
    }  # fmt: skip
    for what, value in bad.items():
        r = _score(uri, value)
        assert r.status_code == 401, (what, r.status_code, r.text)
        assert r.headers.get("www-authenticate", "").startswith("Bearer"), what
    # key auth and token auth are exclusive: a token service has no keys, a key service no tokens
    assert c.post(f"{WS}/services/dp-tokened/listKeys").status_code == 400
    assert c.post(f"{WS}/services/dp-keyed/token").status_code in (400, 404)
    r = c.post(
        f"{WS}/services",
        json={"name": "dp-both", "models": [], "inferenceConfig": None,
              "deploymentConfig": {"computeType": "local", "authEnabled": True,
                                   "tokenAuthEnabled": True}},
    )  # fmt: skip
    assert r.status_code == 400, r.text
    print(f"\n[campaign] bad tokens refused: {len(bad)}")


def _ssl_value(path: Path) -> str:
    """What the REST API takes for sslCertificate/sslKey: the PEM text (the SDK and CLI read the
    v1 file names on the client, docs/deploy.md)."""
    return path.read_text()


def _tls_refused(host: str, port: int, version: ssl.TLSVersion) -> bool:
    import socket

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        ctx.set_ciphers("ALL:@SECLEVEL=0")
        ctx.minimum_version = version
        ctx.maximum_version = version
    except (ValueError, ssl.SSLError):
        return True  # this OpenSSL cannot even speak it
    try:
        with socket.create_connection((host, port), timeout=5) as raw, ctx.wrap_socket(raw):
            return False
    except (ssl.SSLError, OSError):
        return True


def test_service_tls_https_uri_tls12_minimum_and_bad_cert_fails_clearly(
    server: ServerProcess, tmp_path: Path
) -> None:
    cert, key = self_signed(tmp_path / "tls")
    svc = _service(
        server,
        "dp-tls",
        {"sslEnabled": True, "sslCertificate": _ssl_value(cert), "sslKey": _ssl_value(key)},
    )
    if svc.get("state") == "Healthy" and str(svc.get("scoringUri", "")).startswith("http://"):
        pytest.xfail(
            "sslEnabled is accepted but not wired into deployments: the replica serves plain "
            "HTTP (server/deploy does not pass sslCertificate/sslKey to the driver's tls_cert/"
            "tls_key)"
        )
    assert svc["state"] == "Healthy", svc
    uri = svc["scoringUri"]
    assert uri.startswith("https://"), uri
    r = httpx.post(uri, content=b"{}", verify=str(cert), timeout=10)
    assert r.status_code == 200, r.text
    host, port = "127.0.0.1", int(svc["port"])
    # the private key is a secret: never in the service document, its logs or the server log
    secret_body = "".join(key.read_text().splitlines()[1:-1])[:64]
    shown = server.client().get(f"{WS}/services/dp-tls").text
    shown += server.client().get(f"{WS}/services/dp-tls/logs").text
    shown += (server.home / "server.log").read_text(errors="replace")
    assert secret_body not in shown
    assert _tls_refused(host, port, ssl.TLSVersion.TLSv1_1)
    assert _tls_refused(host, port, ssl.TLSVersion.TLSv1)
    assert not _tls_refused(host, port, ssl.TLSVersion.TLSv1_2)
    # a key that does not match its certificate, or a file that is no certificate: refused at
    # once (400) or a Failed deployment with the typed cause, never a crash or a Healthy service
    other_cert, _ = self_signed(tmp_path / "other")
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate")
    c = server.client()
    for name, cert_file in (("dp-tls-bad", other_cert), ("dp-tls-garbage", garbage)):
        config = {"computeType": "local", "sslEnabled": True,
                  "sslCertificate": _ssl_value(cert_file), "sslKey": _ssl_value(key)}  # fmt: skip
        r = deploy(c, name, script=tagged_script(name), config=config)
        if r.status_code == 400:
            assert "ssl" in r.text.lower() or "tls" in r.text.lower() or "cert" in r.text, r.text
            continue
        failed = deployed(c, r)
        assert failed["state"] == "Failed", failed
        assert failed["error"]["code"] == "TlsConfigurationFailed", failed["error"]
        assert failed["error"]["message"], failed["error"]


def test_workspace_server_serves_https_with_tls_cert_and_key(tmp_path: Path) -> None:
    from modelport.server.settings import SETTINGS

    if not any(setting.flag == "--tls-cert" for setting in SETTINGS):
        pytest.xfail("the workspace server has no --tls-cert/--tls-key options yet")
    cert, key = self_signed(tmp_path / "tls")
    try:
        s = start_server_with_env(
            tmp_path / "home", {}, extra_args=["--tls-cert", str(cert), "--tls-key", str(key)]
        )
    except RuntimeError as exc:
        if "unrecognized arguments" in str(exc):
            pytest.xfail("the workspace server has no --tls-cert/--tls-key options yet")
        raise
    try:
        assert s.url.startswith("https://"), s.url
        r = httpx.get(
            f"{s.url}/api/v1/workspaces",
            headers={"Authorization": f"Bearer {s.token}"},
            verify=str(cert),
        )
        assert r.status_code == 200
        host, port = s.url.removeprefix("https://").split(":")
        assert _tls_refused(host, int(port), ssl.TLSVersion.TLSv1_1)
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"http://{host}:{port}/api/v1/health", timeout=5)
    finally:
        s.stop()


def test_sdk_run_fetches_a_key_or_token_on_401(
    server: ServerProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    from modelport.sdk.webservice import Webservice
    from modelport.sdk.workspace import Workspace

    for name, config in (
        ("dp-keyed", {"authEnabled": True}),
        ("dp-tokened", {"tokenAuthEnabled": True}),
    ):
        svc = _service(server, name, config)
        _require_enforced(svc["scoringUri"])
    for key, value in server.env.items():
        monkeypatch.setenv(key, value)
    ws = Workspace.get("default")
    for name in ("dp-keyed", "dp-tokened"):
        service = Webservice(ws, name)
        assert service.run("{}") == {"revision": name}
    primary, secondary = Webservice(ws, "dp-keyed").get_keys()
    assert primary and secondary and primary != secondary
    token, refresh_by = Webservice(ws, "dp-tokened").get_token()
    assert token.count(".") == 2 and refresh_by.timestamp() > time.time()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_inference_server_tls_12_minimum_and_clear_exit_on_a_bad_key(tmp_path: Path) -> None:
    """The replica side of TLS, standalone (what a TLS deployment will start)."""
    import subprocess
    import sys

    cert, key = self_signed(tmp_path / "tls")
    other_cert, _ = self_signed(tmp_path / "other")
    (tmp_path / "score.py").write_text("def init():\n    pass\n\ndef run(raw):\n    return 'ok'\n")
    base = [sys.executable, "-m", "modelport.serving", "--entry-script", "score.py",
            "--source-dir", str(tmp_path), "--host", "127.0.0.1"]  # fmt: skip
    bad = subprocess.run(
        [*base, "--port", str(_free_port()), "--tls-cert", str(other_cert), "--tls-key", str(key)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert bad.returncode == 4, (bad.returncode, bad.stderr[-2000:])
    assert "Traceback" not in bad.stderr and ("TLS" in bad.stderr or "tls" in bad.stderr)
    port = _free_port()
    proc = subprocess.Popen(
        [*base, "--port", str(port), "--tls-cert", str(cert), "--tls-key", str(key)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            try:
                if httpx.get(f"https://127.0.0.1:{port}/", verify=str(cert)).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the TLS server never answered"
            time.sleep(0.1)  # poll interval, bounded by the deadline
        r = httpx.post(f"https://127.0.0.1:{port}/score", content=b"{}", verify=str(cert))
        assert r.status_code == 200, r.text
        assert _tls_refused("127.0.0.1", port, ssl.TLSVersion.TLSv1_1)
        assert _tls_refused("127.0.0.1", port, ssl.TLSVersion.TLSv1)
        assert not _tls_refused("127.0.0.1", port, ssl.TLSVersion.TLSv1_2)
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"http://127.0.0.1:{port}/", timeout=5)  # no plain HTTP on that port
    finally:
        proc.terminate()
        proc.wait(30)
