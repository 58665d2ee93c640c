"""The replicas' credential check: a rewritten auth file is enforced by the very next request
(whatever the timestamps' granularity), wrong keys are bounded per client, tokens are strict
base64url, and every user-given key meets one minimum strength."""

from __future__ import annotations

import base64
import itertools
import json
import os
import time
from pathlib import Path

import pytest

from modelport.errors import UserError
from modelport.server.deploy import auth as deploy_auth
from modelport.serving.auth import MAX_FAILURES, Auth

LOOPBACK = ("127.0.0.1", 50000)


def _bearer(key: str) -> bytes:
    return f"Bearer {key}".encode()


def _write(path: Path, keys: list[str]) -> None:
    deploy_auth.write_auth_file(
        path, {"mode": "key", "keyHashes": [deploy_auth.key_hash(k) for k in keys]}
    )


def test_every_rewrite_of_the_auth_file_is_enforced_by_the_next_request(tmp_path: Path) -> None:
    path = tmp_path / "auth.json"
    keys = [f"key-{i:04d}-0123456789abcdef" for i in range(40)]  # all the same length
    _write(path, [keys[0]])
    checker = Auth(str(path))
    stamp = os.stat(path).st_mtime_ns
    for old, new in itertools.pairwise(keys):
        _write(path, [new])  # same size, often the same timestamp tick: the inode tells
        assert checker.check(_bearer(old)) is not None, "a replaced key still passed"
        assert checker.check(_bearer(new)) is None
    print(f"\n[campaign] 39 rewrites, timestamps advanced {os.stat(path).st_mtime_ns - stamp} ns")


def test_wrong_keys_are_bounded_per_client_and_the_right_key_always_passes(
    tmp_path: Path,
) -> None:
    path = tmp_path / "auth.json"
    _write(path, ["the-right-key-0123456789"])
    checker = Auth(str(path))
    for _ in range(MAX_FAILURES):
        denied = checker.check(_bearer("a-wrong-key-0123456789"), LOOPBACK)
        assert denied is not None and denied.status == 401
    blocked = checker.check(_bearer("another-guess-0123456"), ("127.0.0.2", 1))  # same client
    assert blocked is not None and blocked.status == 429
    assert dict(blocked.headers)[b"retry-after"].isdigit()
    assert checker.check(_bearer("the-right-key-0123456789"), LOOPBACK) is None
    other = checker.check(_bearer("a-wrong-key-0123456789"), ("10.1.2.3", 1))
    assert other is not None and other.status == 401  # another client keeps its own budget
    missing = checker.check(None, LOOPBACK)
    assert missing is not None and missing.status == 401  # no credentials: not a guess


def _token(secret: bytes, service: str) -> str:
    return str(deploy_auth.issue_token(service, secret.hex())["accessToken"])


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t.replace(".", "=.", 1),  # padding
        lambda t: t[:-1] + ("+" if t[-1] != "+" else "/"),  # standard alphabet
        lambda t: t.replace(".", ".\n", 1),  # whitespace the lenient decoder skipped
        lambda t: t + "A",  # a length base64 cannot have
    ],
)
def test_tokens_must_be_strict_base64url(tmp_path: Path, mangle: object) -> None:
    secret = os.urandom(32)
    path = tmp_path / "auth.json"
    path.write_text(json.dumps({"mode": "token", "audience": "svc", "secrets": [secret.hex()]}))
    checker = Auth(str(path))
    token = _token(secret, "svc")
    assert checker.check(_bearer(token)) is None
    assert checker.check(_bearer(mangle(token))) is not None  # type: ignore[operator]


def test_a_signature_with_stray_trailing_bits_is_refused(tmp_path: Path) -> None:
    secret = os.urandom(32)
    path = tmp_path / "auth.json"
    path.write_text(json.dumps({"mode": "token", "audience": "svc", "secrets": [secret.hex()]}))
    checker = Auth(str(path))
    head, claims, sig = _token(secret, "svc").split(".")
    raw = base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4))
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    # 32 bytes -> 43 characters, the last carrying 2 unused bits: set one of them
    twin = sig[:-1] + alphabet[alphabet.index(sig[-1]) | 1]
    assert twin != sig and base64.urlsafe_b64decode(twin + "=") == raw
    assert checker.check(_bearer(f"{head}.{claims}.{twin}")) is not None


@pytest.mark.parametrize("weak", ["a", "short-key-123", "with spaces in it 0123", "ü" * 20, 5])
def test_user_given_keys_have_one_minimum_strength(weak: object) -> None:
    with pytest.raises(UserError) as info:
        deploy_auth.check_key(weak, "keys.primaryKey")
    assert "keys.primaryKey" in str(info.value)
    if isinstance(weak, str) and len(weak) > 1:
        assert weak not in str(info.value)  # the value is never echoed
    assert deploy_auth.check_key("x" * 16, "keyValue") == "x" * 16


def test_a_remembered_token_stops_passing_at_its_expiry(tmp_path: Path) -> None:
    secret = os.urandom(32)
    path = tmp_path / "auth.json"
    path.write_text(json.dumps({"mode": "token", "audience": "svc", "secrets": [secret.hex()]}))
    checker = Auth(str(path))
    issued = time.time() - deploy_auth.TOKEN_LIFETIME_SECONDS + 2
    token = str(deploy_auth.issue_token("svc", secret.hex(), now=issued)["accessToken"])
    exp = int(issued) + deploy_auth.TOKEN_LIFETIME_SECONDS
    assert checker.check(_bearer(token)) is None  # verified once, then remembered
    deadline = time.monotonic() + 10
    while (denied := checker.check(_bearer(token))) is None:
        assert time.time() < exp, "a remembered token passed after its expiry"
        assert time.monotonic() < deadline, "the token never expired"
        time.sleep(0.01)  # poll interval, bounded by the deadline
    assert denied == "The token has expired." and time.time() >= exp


def test_a_rotation_through_a_symbolic_link_swap_is_enforced_by_the_next_request(
    tmp_path: Path,
) -> None:
    """A Kubernetes secret volume: auth.json -> ..data/auth.json, ..data -> a versioned folder,
    replaced by renaming a new link over ..data (inotify cannot follow that: stat every time)."""

    def publish(version: int, key: str) -> None:
        folder = tmp_path / f"..v{version}"
        folder.mkdir()
        _write(folder / "auth.json", [key])
        (tmp_path / "..data_tmp").symlink_to(folder.name)
        os.replace(tmp_path / "..data_tmp", tmp_path / "..data")

    publish(0, "first-key-0123456789")
    (tmp_path / "auth.json").symlink_to("..data/auth.json")
    checker = Auth(str(tmp_path / "auth.json"))
    for version in range(1, 6):
        old, new = f"key-{version - 1:02d}-0123456789", f"key-{version:02d}-0123456789"
        if version == 1:
            old = "first-key-0123456789"
        assert checker.check(_bearer(old)) is None
        publish(version, new)
        assert checker.check(_bearer(old)) is not None, "a replaced key still passed"
        assert checker.check(_bearer(new)) is None


def test_a_relative_auth_file_is_still_followed_after_the_worker_changes_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    here, app_root = tmp_path / "here", tmp_path / "app"
    here.mkdir()
    app_root.mkdir()
    _write(here / "auth.json", ["old-key-0123456789ab"])
    monkeypatch.chdir(here)
    checker = Auth("auth.json")  # --auth-file auth.json, read before the worker's chdir
    monkeypatch.chdir(app_root)
    assert checker.check(_bearer("old-key-0123456789ab")) is None
    _write(here / "auth.json", ["new-key-0123456789ab"])
    assert checker.check(_bearer("old-key-0123456789ab")) is not None, "a replaced key passed"
    assert checker.check(_bearer("new-key-0123456789ab")) is None
