"""TLS through the deploy path: the client sends the PEM files, the server stores the key
encrypted, replicas serve HTTPS (TLS 1.2+ only), a bad certificate/key fails the deployment."""

from __future__ import annotations

import json
import os
import socket
import ssl
import stat
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from modelport import InferenceConfig, Model, Workspace
from modelport.errors import UserError
from modelport.sdk.deploy import config_json
from modelport.specs import load_deployment_config
from modelport.webservice import AciWebservice, Webservice
from tests.conftest import ServerProcess
from tests.e2e.deploy_support import (
    MINIMAL,
    WS,
    delete_and_wait,
    deploy,
    deployed,
    module_server,
    replica_pids,
    wait_until,
)
from tests.tls_support import certificate_pem, new_key

SCRIPT = "def init(): pass\ndef run(raw): return {'tls': raw}\n"


@pytest.fixture(scope="module")
def pems() -> tuple[str, str, str]:
    """(certificate, its key, an unrelated key)."""
    key, key_pem = new_key()
    _, other_pem = new_key()
    return certificate_pem(key, common_name="localhost"), key_pem, other_pem


server = module_server("tls")


def _secret_line(key_pem: str) -> str:
    return key_pem.splitlines()[1]  # base64 of the key: must never leave the server


def test_sdk_deploys_https_service_tls12_only(
    server: ServerProcess, pems: tuple[str, str, str], tmp_path: Path
) -> None:
    cert_pem, key_pem, _ = pems
    (tmp_path / "cert.pem").write_text(cert_pem)
    (tmp_path / "key.pem").write_text(key_pem)
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "score.py").write_text(SCRIPT)
    ws = Workspace.get("default", server_url=server.url, token=server.token)
    config = AciWebservice.deploy_configuration(
        ssl_enabled=True,
        ssl_cert_pem_file=str(tmp_path / "cert.pem"),
        ssl_key_pem_file=str(tmp_path / "key.pem"),
        cpu_cores=1,
        memory_gb=1,
    )
    ic = InferenceConfig(
        entry_script="score.py", source_directory=str(tmp_path / "src"), environment=MINIMAL
    )
    service = Model.deploy(ws, "tls-svc", [], ic, config)
    service.wait_for_deployment()
    assert service.state == "Healthy" and service.ssl_enabled
    uri = urlsplit(service.scoring_uri or "")
    assert uri.scheme == "https" and uri.hostname == "127.0.0.1", service.scoring_uri
    assert (service.swagger_uri or "").startswith("https://")
    # the SDK trusts the service's own self-signed certificate
    assert Webservice(ws, "tls-svc").run("hello") == {"tls": "hello"}

    # a TLS 1.2 client scores
    tls12 = ssl.create_default_context(cadata=cert_pem)
    tls12.maximum_version = ssl.TLSVersion.TLSv1_2
    r = httpx.post(service.scoring_uri or "", content=b"x", verify=tls12, timeout=10)
    assert r.status_code == 200 and r.json() == {"tls": "x"}
    # plain HTTP on the port is refused
    with pytest.raises(httpx.TransportError):
        httpx.post(f"http://127.0.0.1:{uri.port}/score", content=b"x", timeout=5)
    # TLS 1.1 is refused
    old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    old.check_hostname, old.verify_mode = False, ssl.CERT_NONE
    old.set_ciphers("DEFAULT:@SECLEVEL=0")
    old.minimum_version = ssl.TLSVersion.TLSv1
    old.maximum_version = ssl.TLSVersion.TLSv1_1
    with (
        socket.create_connection(("127.0.0.1", uri.port or 0), timeout=5) as sock,
        pytest.raises(ssl.SSLError),
    ):
        old.wrap_socket(sock, server_hostname="127.0.0.1")

    # the key never leaves the server: document, logs; its file is 0600
    client = server.client()
    doc = client.get(f"{WS}/services/tls-svc").json()
    text = json.dumps(doc)
    secret = _secret_line(key_pem)
    assert secret not in text and "PRIVATE KEY" not in text
    assert doc["sslEnabled"] is True and doc["sslCertificate"] == cert_pem
    assert doc["deploymentConfig"]["sslKey"].startswith("stored:")
    assert "CN=localhost" in doc["deploymentConfig"]["sslCertificate"]
    logs = client.get(f"{WS}/services/tls-svc/logs").json()["content"]
    assert "HTTPS" in logs and secret not in logs
    assert secret not in (server.home / "server.log").read_text(errors="replace")
    key_files = list((server.home / "services").glob("**/tls/key.pem"))
    assert key_files and all(stat.S_IMODE(os.stat(p).st_mode) == 0o600 for p in key_files)
    # an update that leaves TLS alone keeps the stored certificate and key (revision 2)
    r = client.patch(f"{WS}/services/tls-svc",
                     json={"deploymentConfig": {"computeType": "ACI", "scoringTimeoutMs": 5000}})  # fmt: skip
    updated = deployed(client, r)
    assert updated["state"] == "Healthy" and updated["revision"] == 2, updated
    assert updated["scoringUri"] == service.scoring_uri
    assert httpx.post(updated["scoringUri"], content=b"y", verify=tls12, timeout=10).json() == {
        "tls": "y"
    }
    # an update with a key that does not match fails; revision 2 keeps serving HTTPS
    r = client.patch(f"{WS}/services/tls-svc",
                     json={"deploymentConfig": {"computeType": "ACI", "sslKey": pems[2]}})  # fmt: skip
    kept = deployed(client, r)
    assert kept["_operation"]["state"] == "Failed", kept["_operation"]
    assert kept["_operation"]["error"]["code"] == "TlsConfigurationFailed"
    assert kept["state"] == "Healthy" and kept["revision"] == 2, kept
    assert kept["sslEnabled"] and kept["deploymentConfig"]["scoringTimeoutMs"] == 5000
    assert httpx.post(kept["scoringUri"], content=b"z", verify=tls12, timeout=10).status_code == 200
    assert _secret_line(pems[2]) not in json.dumps(kept)
    service.delete()
    assert not list((server.home / "services").glob("**/tls/key.pem"))


def test_mismatched_certificate_and_key_fail_the_deployment(
    server: ServerProcess, pems: tuple[str, str, str]
) -> None:
    cert_pem, _, other_key = pems
    client = server.client()
    config = {"computeType": "local", "sslEnabled": True, "sslCertificate": cert_pem,
              "sslKey": other_key}  # fmt: skip
    failed = deployed(client, deploy(client, "tls-bad", script=SCRIPT, config=config))
    assert failed["state"] == "Failed", failed
    assert failed["error"]["code"] == "TlsConfigurationFailed", failed["error"]
    assert "TLS" in failed["error"]["message"] or "certificate" in failed["error"]["message"]
    assert _secret_line(other_key) not in json.dumps(failed)
    wait_until(lambda: not replica_pids(server.home), 30, "no replica left")
    delete_and_wait(client, "tls-bad")


def test_api_refuses_what_is_not_pem(server: ServerProcess, pems: tuple[str, str, str]) -> None:
    cert_pem, key_pem, _ = pems
    client = server.client()
    cases = [
        ({"sslCertificate": "cert.pem", "sslKey": key_pem}, "sslCertificate"),
        ({"sslCertificate": cert_pem, "sslKey": "not a key at all"}, "sslKey"),
        ({"sslCertificate": cert_pem}, "sslKey"),
    ]
    for extra, named in cases:
        config = {"computeType": "ACI", "sslEnabled": True, **extra}
        r = deploy(client, "tls-refused", script=SCRIPT, config=config)
        assert r.status_code == 400, r.text
        assert named in r.json()["message"] and _secret_line(key_pem) not in r.text
        assert "not a key at all" not in r.text
    assert client.get(f"{WS}/services/tls-refused").status_code == 404


def test_client_reads_pem_files_relative_to_the_config_file(
    tmp_path: Path, pems: tuple[str, str, str]
) -> None:
    cert_pem, key_pem, _ = pems
    folder = tmp_path / "conf"
    (folder / "tls").mkdir(parents=True)
    (folder / "tls" / "c.pem").write_text(cert_pem)
    (folder / "tls" / "k.pem").write_text(key_pem)
    dc = folder / "deploymentconfig.json"
    dc.write_text(json.dumps({"computeType": "ACI", "sslEnabled": True,
                              "sslCertificate": "tls/c.pem", "sslKey": "tls/k.pem"}))  # fmt: skip
    sent = config_json(load_deployment_config(dc))
    assert sent["sslCertificate"] == cert_pem and sent["sslKey"] == key_pem
    (folder / "tls" / "k.pem").unlink()
    with pytest.raises(
        UserError, match=r"sslKey: the TLS private key file .*k\.pem does not exist"
    ):
        config_json(load_deployment_config(dc))


def test_cli_names_a_missing_pem_file_in_one_line(tmp_path: Path) -> None:
    from tests.e2e.test_cli_deploy_args import SCORE, cli, one_error_line

    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "score.py").write_text(SCORE)
    (tmp_path / "ic.json").write_text(
        json.dumps({"entryScript": "score.py", "sourceDirectory": "src"})
    )
    (tmp_path / "dc.json").write_text(json.dumps({"computeType": "ACI", "sslEnabled": True,
                                                 "sslCertificate": "missing-cert.pem",
                                                 "sslKey": "key.pem"}))  # fmt: skip
    proc = cli(["model", "deploy", "-n", "tls-cli", "--ic", "ic.json", "--dc", "dc.json"],
               tmp_path, tmp_path / "home")  # fmt: skip
    line = one_error_line(proc)
    assert "sslCertificate" in line and "missing-cert.pem" in line and "does not exist" in line
