"""TLS material of a service revision: PEM checks at the API, storage, files at rollout.

The client sends the PEM text of the certificate and key in ``deploymentConfig.sslCertificate`` /
``sslKey``. The revision row keeps the certificate as PEM and the key encrypted (the same Fernet
box as service keys); the stored configuration holds markers instead of either, so neither the
Service document nor the logs ever carry the key. At rollout both are written 0600 next to the
revision's app root and handed to the driver.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelport.errors import UserError
from modelport.server.crypto import SecretBox
from modelport.specs import DeploymentConfig

# markers stored in place of the PEM text (a PEM value never starts with them)
STORED = "stored:"
KEY_MARKER = "stored: encrypted on the workspace server"
CERT_FILE, KEY_FILE = "cert.pem", "key.pem"


@dataclass(frozen=True)
class TlsMaterial:
    cert_pem: str
    key_enc: str  # Fernet token of the key's PEM text
    summary: str  # subject and expiry, shown in place of the certificate

    @property
    def marker(self) -> str:
        return f"{STORED} {self.summary}"


def check_cert(pem: str) -> str:
    """The certificate's summary; 400 unless it is a PEM certificate (chain)."""
    from cryptography import x509

    if "-----BEGIN CERTIFICATE-----" not in pem:
        raise UserError(
            "deploymentConfig.sslCertificate must be the PEM text of the certificate "
            "(-----BEGIN CERTIFICATE-----); the SDK and CLI read the file for you"
        )
    try:
        cert = x509.load_pem_x509_certificates(pem.encode())[0]
    except ValueError:
        raise UserError(
            "deploymentConfig.sslCertificate is not a readable PEM certificate"
        ) from None
    until = cert.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"{cert.subject.rfc4514_string()}, valid until {until}"


def check_key(pem: str) -> None:
    """400 unless it has the shape of a PEM private key (whether it matches is the replica's
    check: a mismatch fails the deployment with TlsConfigurationFailed). Never echoes it."""
    if "-----BEGIN" not in pem or "PRIVATE KEY-----" not in pem:
        raise UserError(
            "deploymentConfig.sslKey must be the PEM text of a private key "
            "(-----BEGIN … PRIVATE KEY-----); the SDK and CLI read the file for you"
        )


def resolve(config: DeploymentConfig, previous: Any, box: SecretBox) -> TlsMaterial | None:
    """The TLS material of a new revision: PEM given in this request, else the previous
    revision's (an update that leaves sslCertificate/sslKey alone keeps them)."""
    if not config.ssl_enabled:
        return None
    cert, key = config.ssl_cert_pem_file, config.ssl_key_pem_file
    old_cert = getattr(previous, "tls_cert", None)
    old_key = getattr(previous, "tls_key_enc", None)
    if cert.startswith(STORED):
        if old_cert is None:
            raise UserError("deploymentConfig.sslCertificate: send the certificate's PEM text")
        cert = old_cert
    summary = check_cert(cert)
    if key.startswith(STORED):
        if old_key is None:
            raise UserError("deploymentConfig.sslKey: send the private key's PEM text")
        return TlsMaterial(cert, old_key, summary)
    check_key(key)
    return TlsMaterial(cert, box.encrypt(key), summary)


def stored_config(data: dict[str, Any], material: TlsMaterial | None) -> dict[str, Any]:
    """The config JSON for rows and documents: markers instead of the PEM texts."""
    data = dict(data)
    if material is None:
        data.pop("sslCertificate", None)
        data.pop("sslKey", None)
        return data
    data["sslCertificate"] = material.marker
    data["sslKey"] = KEY_MARKER
    return data


def write_files(folder: Path, cert_pem: str, key_pem: str) -> tuple[str, str]:
    """Write ``cert.pem`` and ``key.pem`` (0600, folder 0700) for one revision's replicas."""
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    paths = []
    for name, text in ((CERT_FILE, cert_pem), (KEY_FILE, key_pem)):
        path = folder / name
        tmp = folder / f".{name}.{os.getpid()}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, text.encode())
        finally:
            os.close(fd)
        os.replace(tmp, path)
        paths.append(str(path))
    return paths[0], paths[1]


def scoring_uri(config: dict[str, Any], port: int | None) -> str:
    """``https://<cname or 127.0.0.1>:port/score`` with TLS, else ``http://127.0.0.1:port/score``."""
    if config.get("sslEnabled"):
        return f"https://{config.get('cname') or '127.0.0.1'}:{port}/score"
    return f"http://127.0.0.1:{port}/score"
