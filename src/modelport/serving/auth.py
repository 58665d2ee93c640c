"""Data-plane authentication from an auth file the deployment side writes (and may rewrite).

``{"mode": "key", "keyHashes": ["<sha256 hex of a key>", ...]}``: ``Authorization: Bearer <key>``
whose SHA-256 matches one of the hashes (compared in constant time).
``{"mode": "token", "audience": "<service>", "secrets": ["<hex HMAC secret>", ...]}``: a JWT
(HS256) signed with one of the secrets, ``aud`` naming the audience, ``exp`` in the future.
``{"mode": "none"}``: no authentication.

The file is checked before every authenticated request and re-read when it was replaced or
changed, so once the deployment side's atomic rewrite is done, no request passes with a key that
is gone. The check is an inotify poll (filewatch.py; one system call), and a ``stat`` only when
that saw something, or on every request where inotify cannot watch the path. Replacement is told
by the inode: the loaded file is kept open, so its inode number cannot be reused by the next file,
whatever the timestamps' granularity (modification time, change time and size catch an in-place
rewrite too). A broken rewrite keeps the last good settings (logged).

Credentials that passed are remembered (``PASSED_MEMO`` of them, with a token's expiry) until the
file changes, so a client's next request skips the SHA-256 or the HMAC. The look-up compares the
header's keyed 64-bit hash first and its bytes only on an equal hash, so its timing tells nothing
about a remembered key.

A client that presents wrong keys or tokens ``MAX_FAILURES`` times within ``FAILURE_WINDOW``
seconds gets 429 with ``Retry-After`` for every request without valid credentials until the window
has passed; valid credentials are never blocked, and missing ones are not counted. A client is its
address, every loopback address one client, an IPv6 client its /64 (``client_key``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import json
import math
import os
import re
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Any

from modelport.serving.filewatch import FileWatch
from modelport.serving.logs import log
from modelport.serving.process import ConfigError

MISSING = "Missing credentials: send 'Authorization: Bearer <key or token>'."
WRONG_KEY = "Invalid key."
BAD_TOKEN = "Invalid token."
EXPIRED = "The token has expired."
MAX_FAILURES = 20
FAILURE_WINDOW = 60.0
MAX_CLIENTS = 10_000  # the failure table is bounded: a flood from many addresses cannot grow it
PASSED_MEMO = 64  # credentials remembered as passing (the whole memo is dropped when full)
PASSED_MEMO_BYTES = 4096  # a longer Authorization header is checked in full every time


class Denied(str):
    """The message of a refusal, with its status (401, or 429 for a client over its budget) and
    the headers that go with it."""

    status = 401
    headers: tuple[tuple[bytes, bytes], ...] = ((b"www-authenticate", b"Bearer"),)


def _denied(message: str) -> Denied:
    return Denied(message)


def _blocked(wait: int) -> Denied:
    d = Denied(f"Too many failed authentication attempts from this client; retry after {wait} s.")
    d.status = 429
    d.headers = ((b"retry-after", str(wait).encode()),)
    return d


def client_key(address: str) -> str:
    """Who a peer address counts as: every loopback address (127.0.0.0/8, ::1) is one client, an
    IPv6 client is its /64 (one host holds a whole /64), an IPv4-mapped address its IPv4 one."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return "loopback"
    if isinstance(ip, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


class FailureTable:
    """Wrong credentials per client in a sliding window (bounded, oldest clients dropped)."""

    def __init__(self, max_failures: int = MAX_FAILURES, window: float = FAILURE_WINDOW) -> None:
        self.max_failures, self.window = max_failures, window
        self._times: OrderedDict[str, deque[float]] = OrderedDict()

    def retry_after(self, client: str, now: float) -> int | None:
        times = self._times.get(client)
        if times is None:
            return None
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._times[client]
            return None
        if len(times) < self.max_failures:
            return None
        return max(1, math.ceil(times[0] + self.window - now))

    def record(self, client: str, now: float) -> None:
        times = self._times.get(client)
        if times is None:
            if len(self._times) >= MAX_CLIENTS:
                self._times.popitem(last=False)
            times = self._times[client] = deque(maxlen=self.max_failures)
        times.append(now)


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


_B64URL = re.compile(r"[A-Za-z0-9_-]*")


def _b64url(part: str) -> bytes:
    """Strict unpadded base64url: no other characters, no padding, no stray trailing bits (the
    lenient decoder let several spellings of one token through)."""
    if not _B64URL.fullmatch(part) or len(part) % 4 == 1:
        raise ValueError("not base64url")
    data = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    if base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii") != part:
        raise ValueError("not canonical base64url")
    return data


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
        self.path = os.path.abspath(path)  # the worker changes to the app root before init()
        self._stamp: tuple[int, int, int, int, int] | None = None
        self._held: int | None = None  # the loaded file, kept open: its inode stays unique
        self.failures = FailureTable()
        # header -> until when it passes (inf for a key, a token's exp); emptied on every re-read
        self._passed: dict[bytes, float] = {}
        self._watch = FileWatch(self.path)  # before the first read: a change during it is seen
        self.config = self._load()  # a broken file at start-up is exit code 4

    def _load(self) -> AuthConfig:
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            raise ConfigError(f"auth file {self.path} not found") from None
        except OSError as exc:
            raise ConfigError(f"auth file {self.path} unreadable: {exc}") from None
        try:
            st = os.fstat(fd)
            with os.fdopen(os.dup(fd), encoding="utf-8") as f:
                data = json.load(f)
            config = parse(data, self.path)
        except (OSError, ValueError) as exc:
            os.close(fd)
            raise ConfigError(f"auth file {self.path} unreadable: {exc}") from None
        except ConfigError:
            os.close(fd)
            raise
        if self._held is not None:
            os.close(self._held)
        self._held, self._stamp = fd, _stamp(st)
        self._passed.clear()
        self._watch.follow()
        return config

    def _refresh(self) -> None:
        try:
            st = os.stat(self.path)
        except OSError as exc:
            log.error("auth file %s: %s; keeping the previous settings", self.path, exc)
            return
        if _stamp(st) == self._stamp:
            return
        try:
            self.config = self._load()
            log.info("auth file %s re-read (mode %s)", self.path, self.config.mode)
        except ConfigError as exc:
            self._stamp = _stamp(st)  # logged once, not on every request
            log.error("%s; keeping the previous settings", exc)

    def check(self, header: bytes | None, client: Any = None) -> Denied | None:
        """None when the request may pass, else the refusal (401, or 429 for a client that
        presented wrong credentials too often; ``client`` is the ASGI scope's)."""
        if self._watch.changed():
            self._refresh()
        config = self.config
        if config.mode == "none":
            return None
        if not header:
            return _denied(MISSING)
        until = self._passed.get(header)
        if until is not None and (until == _FOREVER or time.time() < until):
            return None
        denied = self._verify(header, config, client)
        if denied is None and len(header) <= PASSED_MEMO_BYTES:
            if len(self._passed) >= PASSED_MEMO:
                self._passed.clear()
            self._passed[header] = _FOREVER if config.mode == "key" else _expiry(header)
        return denied

    def _verify(self, header: bytes, config: AuthConfig, client: Any) -> Denied | None:
        scheme, _, credential = header.decode("latin-1").strip().partition(" ")
        credential = credential.strip()
        if scheme.lower() != "bearer" or not credential:
            return _denied(MISSING)
        if config.mode == "key":
            digest = hashlib.sha256(credential.encode("utf-8", "replace")).digest()
            ok = False
            for h in config.key_hashes:
                ok |= hmac.compare_digest(digest, h)
            message = None if ok else WRONG_KEY
        else:
            message = verify_jwt(credential, config.secrets, config.audience, time.time())
        if message is None:
            return None
        if client is None:
            return _denied(message)
        who, now = client_key(str(client[0])), time.monotonic()
        wait = self.failures.retry_after(who, now)
        if wait is not None:
            return _blocked(wait)
        self.failures.record(who, now)
        return _denied(message)


_FOREVER = math.inf


def _expiry(header: bytes) -> float:
    """A token's ``exp`` (verified already: the header is ``Bearer <JWT>``)."""
    claims = json.loads(_b64url(header.decode("latin-1").split()[-1].split(".")[1]))
    return float(claims["exp"])


def _stamp(st: os.stat_result) -> tuple[int, int, int, int, int]:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def load_auth(path: str | None, service_name: str) -> Auth | None:
    return Auth(path) if path else None
