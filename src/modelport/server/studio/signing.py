"""Signed, expiring studio tokens: session cookies, CSRF tokens and one-time sign-in links.

The signing key is derived from the workspace token (HMAC with a fixed label), so no schema or
extra secret file is needed, anyone holding the workspace token can mint a sign-in link (the CLI
does, in ``modelport studio open``) and rotating the workspace token ends every studio session.
Stdlib only: the CLI imports this module without the server's dependencies.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from typing import Any
from urllib.parse import quote

SESSION_TTL = 12 * 3600  # seconds a studio session lasts
LINK_TTL = 300  # seconds a one-time sign-in link stays usable
FORM_TTL = 3600  # seconds the sign-in form's anti-forgery token stays valid
LINK_PATH = "/signin/link"


def key_for(token: str) -> bytes:
    """The studio's signing key: a function of the workspace token, never the token itself."""
    return hmac.new(token.encode(), b"modelport-studio-v1", hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(key: bytes, kind: str, ttl: float, **claims: Any) -> str:
    """``payload.signature``; the payload names its kind so a link cannot serve as a session."""
    body = {"k": kind, "e": int(time.time() + ttl), "n": secrets.token_urlsafe(16), **claims}
    payload = _b64(json.dumps(body, separators=(",", ":")).encode())
    mac = hmac.new(key, payload.encode(), hashlib.sha256).digest()
    return f"{payload}.{_b64(mac)}"


def verify(key: bytes, kind: str, value: str | None) -> dict[str, Any] | None:
    """The claims of a valid, unexpired token of ``kind``; None for anything else."""
    if not value or value.count(".") != 1 or len(value) > 2048:
        return None
    payload, mac = value.split(".")
    try:
        expected = hmac.new(key, payload.encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(expected, _unb64(mac)):
            return None
        claims = json.loads(_unb64(payload))
    except (ValueError, TypeError):
        return None
    if not isinstance(claims, dict) or claims.get("k") != kind:
        return None
    expires = claims.get("e")
    if not isinstance(expires, int) or expires < time.time():
        return None
    return claims


def csrf_for(key: bytes, session_nonce: str) -> str:
    """The CSRF token of one session: bound to it, so a token from another session is refused."""
    return _b64(hmac.new(key, f"csrf:{session_nonce}".encode(), hashlib.sha256).digest())


def signin_link(server_url: str, token: str, next_path: str = "/") -> str:
    """A one-time sign-in link to the studio of the server at ``server_url``."""
    link = sign(key_for(token), "link", LINK_TTL)
    return f"{server_url.rstrip('/')}{LINK_PATH}?t={link}&next={quote(next_path, safe='/')}"


class UsedNonces:
    """Nonces already spent (one-time links, signed-out sessions), kept until they expire.

    In memory, per server process: with several server processes on one database a link could be
    used once on each of them within its five minutes (documented in docs/studio.md).
    """

    def __init__(self, limit: int = 100_000) -> None:
        self._until: dict[str, float] = {}
        self._limit = limit

    def spend(self, nonce: str, expires: float) -> bool:
        """Mark ``nonce`` used; False when it already was."""
        now = time.time()
        if len(self._until) >= self._limit:
            self._until = {n: t for n, t in self._until.items() if t > now}
        if self._until.get(nonce, 0) > now:
            return False
        self._until[nonce] = expires
        return True

    def spent(self, nonce: str) -> bool:
        return self._until.get(nonce, 0) > time.time()
