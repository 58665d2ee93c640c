"""Service TLS pieces without a server: what a new revision stores, the markers shown instead of
PEM texts, the scoring URI, and what Webservice.run() trusts."""

from __future__ import annotations

import ssl
from pathlib import Path
from types import SimpleNamespace

import pytest
from cryptography.fernet import Fernet

from modelport.errors import UserError
from modelport.sdk._service_tls import CA_BUNDLE_ENV, verify_for
from modelport.server.crypto import SecretBox
from modelport.server.deploy import tls
from modelport.specs import DeploymentConfig, parse_deployment_config
from tests.tls_support import certificate_pem, new_key


@pytest.fixture(scope="module")
def pems() -> tuple[str, str]:
    key, key_pem = new_key()
    return certificate_pem(key, common_name="localhost"), key_pem


def _config(**extra: object) -> DeploymentConfig:
    return parse_deployment_config({"computeType": "ACI", **extra})


def test_new_revision_stores_cert_and_encrypted_key_and_shows_markers(
    pems: tuple[str, str],
) -> None:
    cert, key = pems
    box = SecretBox(Fernet.generate_key())
    config = _config(sslEnabled=True, sslCertificate=cert, sslKey=key)
    material = tls.resolve(config, None, box)
    assert material is not None and material.cert_pem == cert
    assert key not in material.key_enc and box.decrypt(material.key_enc) == key
    stored = tls.stored_config(config.to_json(), material)
    assert stored["sslCertificate"].startswith("stored: CN=localhost, valid until ")
    assert stored["sslKey"] == tls.KEY_MARKER
    # an update that sends the markers back keeps the previous revision's material
    previous = SimpleNamespace(tls_cert=cert, tls_key_enc=material.key_enc)
    again = tls.resolve(parse_deployment_config(stored), previous, box)
    assert again == material
    with pytest.raises(UserError, match="sslKey: send the private key's PEM text"):
        tls.resolve(parse_deployment_config(stored), SimpleNamespace(tls_cert=cert), box)
    # TLS off: nothing stored, PEM texts dropped from the stored config
    off = _config(sslEnabled=False, sslCertificate=cert, sslKey=key)
    assert tls.resolve(off, previous, box) is None
    assert "sslKey" not in tls.stored_config(off.to_json(), None)


def test_scoring_uri_scheme_and_cname() -> None:
    assert tls.scoring_uri({}, 80) == "http://127.0.0.1:80/score"
    assert tls.scoring_uri({"sslEnabled": True}, 443) == "https://127.0.0.1:443/score"
    on = {"sslEnabled": True, "cname": "svc.example.org"}
    assert tls.scoring_uri(on, 8443) == "https://svc.example.org:8443/score"


def test_run_trusts_bundle_or_self_signed_service_cert(
    pems: tuple[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    cert, _ = pems
    monkeypatch.delenv(CA_BUNDLE_ENV, raising=False)
    assert verify_for("http://127.0.0.1:1/score", cert) is True
    assert isinstance(verify_for("https://127.0.0.1:1/score", cert), ssl.SSLContext)
    assert verify_for("https://127.0.0.1:1/score", None) is True
    monkeypatch.setenv(CA_BUNDLE_ENV, str(tmp_path / "ca.pem"))
    assert verify_for("https://127.0.0.1:1/score", cert) == str(tmp_path / "ca.pem")
