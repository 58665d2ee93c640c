"""Data-plane authentication from an auth file the deployment side writes (and may rewrite).

``{"mode": "key", "keyHashes": ["<sha256 hex of a key>", ...]}``: ``Authorization: Bearer <key>``
whose SHA-256 matches one of the hashes (compared in constant time).
``{"mode": "token", "audience": "<service>", "secrets": ["<hex HMAC secret>", ...]}``: a JWT
(HS256) signed with one of the secrets, ``aud`` naming the audience, ``exp`` in the future.
``{"mode": "none"}``: no authentication.
The file is re-read when its modification time or size changes, checked at most once a second, so
keys and secrets rotate without a restart; a broken rewrite keeps the last good settings (logged).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import time
from dataclasses import dataclass, field
from typing import Any

from modelport.serving.logs import log
from modelport.serving.process import ConfigError

MISSING = "Missing credentials: send 'Authorization: Bearer <key or token>'."
WRONG_KEY = "Invalid key."
BAD_TOKEN = "Invalid token."
EXPIRED = "The token has expired."


@dataclass
class AuthConfig:
    mode: str
    key_hashes: list[bytes] = field(default_factory=list)
    audience: str = ""
    secrets: list[bytes] = field(default_factory=list)


def parse(data: Any, path: str) -> AuthConfig:
    if not isinstance(data, dict) or data.get("mode") not in ("key", "token", "none"):
        raise ConfigError(f"auth file {path}: expected a JSON object with mode key, token or none")
    mode = data["mode"]
    try:
        if mode == "key":
            hashes = data.get("keyHashes")
            if not isinstance(hashes, list) or not hashes:
                raise ConfigError(f"auth file {path}: keyHashes must be a non-empty list")
            decoded = [bytes.fromhex(h) for h in hashes]
            if any(len(h) != 32 for h in decoded):
                raise ConfigError(
                    f"auth file {path}: every keyHashes entry must be a SHA-256 hex digest"
                )
            return AuthConfig("key", key_hashes=decoded)
        if mode == "token":
            secrets = data.get("secrets")
            audience = data.get("audience")
            if (
                not isinstance(secrets, list)
                or not secrets
                or not isinstance(audience, str)
                or not audience
            ):
                raise ConfigError(
                    f"auth file {path}: token mode needs audience and a non-empty secrets list"
                )
            return AuthConfig(
                "token", audience=audience, secrets=[bytes.fromhex(s) for s in secrets]
            )
    except (ValueError, TypeError):
        raise ConfigError(f"auth file {path}: hashes and secrets must be hex strings") from None
    return AuthConfig("none")


def _b64url(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def verify_jwt(token: str, secrets: list[bytes], audience: str, now: float) -> str | None:
    """None when the HS256 token is valid for the audience, else the 401 message."""
    parts = token.split(".")
    if len(parts) != 3:
        return BAD_TOKEN
    try:
        header = json.loads(_b64url(parts[0]))
        claims = json.loads(_b64url(parts[1]))
        signature = _b64url(parts[2])
    except (ValueError, binascii.Error):
        return BAD_TOKEN
    if not isinstance(header, dict) or header.get("alg") != "HS256" or not isinstance(claims, dict):
        return BAD_TOKEN
    signed = f"{parts[0]}.{parts[1]}".encode("ascii", "replace")
    ok = False
    for secret in secrets:  # every secret is tried: the time taken does not say which one matched
        ok |= hmac.compare_digest(hmac.new(secret, signed, hashlib.sha256).digest(), signature)
    if not ok:
        return BAD_TOKEN
    aud = claims.get("aud")
    if not (aud == audience or (isinstance(aud, list) and audience in aud)):
        return BAD_TOKEN
    exp = claims.get("exp")
    if not isinstance(exp, int | float) or isinstance(exp, bool):
        return BAD_TOKEN
    if exp <= now:
        return EXPIRED
    nbf = claims.get("nbf")
    if isinstance(nbf, int | float) and nbf > now:
        return BAD_TOKEN
    return None


class Auth:
    """Checks ``Authorization`` headers against the auth file, following its changes."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._stamp: tuple[float, int] | None = None
        self._checked = 0.0
        self.config = self._load()  # a broken file at start-up is exit code 4

    def _load(self) -> AuthConfig:
        try:
            st = os.stat(self.path)
            with open(self.path, encoding="utf-8") as f:
                data = json.load(f)
        except FileNotFoundError:
            raise ConfigError(f"auth file {self.path} not found") from None
        except (OSError, ValueError) as exc:
            raise ConfigError(f"auth file {self.path} unreadable: {exc}") from None
        config = parse(data, self.path)
        self._stamp = (st.st_mtime, st.st_size)
        return config

    def _refresh(self) -> None:
        now = time.monotonic()
        if now - self._checked < 1.0:
            return
        self._checked = now
        try:
            st = os.stat(self.path)
        except OSError as exc:
            log.error("auth file %s: %s; keeping the previous settings", self.path, exc)
            return
        if (st.st_mtime, st.st_size) == self._stamp:
            return
        try:
            self.config = self._load()
            log.info("auth file %s re-read (mode %s)", self.path, self.config.mode)
        except ConfigError as exc:
            log.error("%s; keeping the previous settings", exc)

    def check(self, header: bytes | None) -> str | None:
        """None when the request may pass, else the message of the 401 answer."""
        self._refresh()
        config = self.config
        if config.mode == "none":
            return None
        if not header:
            return MISSING
        scheme, _, credential = header.decode("latin-1").strip().partition(" ")
        credential = credential.strip()
        if scheme.lower() != "bearer" or not credential:
            return MISSING
        if config.mode == "key":
            digest = hashlib.sha256(credential.encode("utf-8", "replace")).digest()
            ok = False
            for h in config.key_hashes:
                ok |= hmac.compare_digest(digest, h)
            return None if ok else WRONG_KEY
        return verify_jwt(credential, config.secrets, config.audience, time.time())


def load_auth(path: str | None, service_name: str) -> Auth | None:
    return Auth(path) if path else None
