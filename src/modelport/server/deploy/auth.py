"""Service keys and tokens: generation, the replicas' auth file, and HS256 access tokens.

Keys and the token secret live encrypted in the services row (see ``crypto.SecretBox``); replicas
only ever see sha256 hashes of the keys, or the token secret, through the auth file that the
inference server re-reads when it changes (docs/serving.md, ``MODELPORT_AUTH_FILE``).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import os
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelport.errors import UserError

AUTH_FILE_NAME = "auth.json"
TOKEN_LIFETIME_SECONDS = 3600
# Clients are told to fetch a new token well before the old one expires.
TOKEN_REFRESH_SECONDS = 2700


# One rule for every key a user gives (deploymentConfig keys, regenerateKeys keyValue): long
# enough not to be guessed at the data plane's wrong-key budget, and safe in an HTTP header.
MIN_KEY_LENGTH = 16
_KEY_RULE = re.compile(rf"[!-~]{{{MIN_KEY_LENGTH},256}}")


def check_key(value: object, what: str) -> str:
    """A user-given key, or UserError naming ``what`` (never echoing the value)."""
    if not isinstance(value, str) or not _KEY_RULE.fullmatch(value):
        raise UserError(
            f"{what} must be {MIN_KEY_LENGTH} to 256 printable ASCII characters without spaces "
            "(leave it out to have a random key generated)"
        )
    return value


def new_key() -> str:
    """A service key: 32 random bytes, URL-safe (what the original's keys look like in length)."""
    return secrets.token_urlsafe(32)


def new_token_secret() -> str:
    return secrets.token_hex(32)


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class AuthSettings:
    """What a service's replicas must enforce; secrets are plaintext here and only here."""

    mode: str  # "none" | "key" | "token"
    primary_key: str | None = None
    secondary_key: str | None = None
    token_secret: str | None = None

    def auth_file_document(self, service_name: str) -> dict[str, Any] | None:
        if self.mode == "key":
            keys = [k for k in (self.primary_key, self.secondary_key) if k]
            return {"mode": "key", "keyHashes": [key_hash(k) for k in keys]}
        if self.mode == "token":
            return {"mode": "token", "audience": service_name, "secrets": [self.token_secret]}
        return None


def write_auth_file(path: Path, document: dict[str, Any]) -> None:
    """Write atomically (temp file + rename) so a replica re-reading it never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, json.dumps(document, sort_keys=True).encode())
        os.fsync(fd)
        with contextlib.suppress(FileNotFoundError):  # replicas of their own user keep reading it
            st = os.stat(path)
            if (st.st_uid, st.st_gid) != (os.geteuid(), os.getegid()):
                os.fchown(fd, st.st_uid, st.st_gid)
                os.fchmod(fd, st.st_mode & 0o777)  # root's, 0640 for its group (isolation.py)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def token_signing_key(secret_hex: str) -> bytes:
    """The HMAC key for a hex secret: its decoded bytes (the convention of docs/serving.md)."""
    return bytes.fromhex(secret_hex)


def issue_token(service_name: str, secret_hex: str, now: float | None = None) -> dict[str, Any]:
    """A JWT (HS256) for one service: ``aud`` = service name, short ``exp``; the REST answer shape."""
    issued = int(time.time() if now is None else now)
    header = {"alg": "HS256", "typ": "JWT"}
    claims = {
        "aud": service_name,
        "iss": "modelport",
        "iat": issued,
        "nbf": issued - 5,
        "exp": issued + TOKEN_LIFETIME_SECONDS,
        "jti": secrets.token_hex(8),
    }
    signing_input = (
        _b64(json.dumps(header, separators=(",", ":")).encode())
        + "."
        + _b64(json.dumps(claims, separators=(",", ":")).encode())
    )
    signature = hmac.new(
        token_signing_key(secret_hex), signing_input.encode("ascii"), hashlib.sha256
    ).digest()
    return {
        "accessToken": f"{signing_input}.{_b64(signature)}",
        "refreshAfter": issued + TOKEN_REFRESH_SECONDS,
        "expiryOn": issued + TOKEN_LIFETIME_SECONDS,
        "tokenType": "Bearer",
    }
