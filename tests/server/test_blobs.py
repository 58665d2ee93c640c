"""Content-addressed uploads: verified while streaming, atomic, constant memory."""

from __future__ import annotations

import hashlib
import os
import socket
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx

from tests.conftest import ServerFactory, ServerProcess
from tests.server.helpers import WS


def _blob_files(server: ServerProcess) -> list[str]:
    root = server.home / "artifacts"
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_upload_head_download_roundtrip(workspace_server: ServerProcess) -> None:
    c = workspace_server.client()
    data = os.urandom(300_000)
    sha = hashlib.sha256(data).hexdigest()
    assert c.head(f"{WS}/blobs/{sha}").status_code == 404
    r = c.put(f"{WS}/blobs/{sha}", content=data)
    assert r.status_code == 201 and r.json() == {"sha256": sha, "size": len(data)}
    assert c.put(f"{WS}/blobs/{sha}", content=data).status_code == 200  # idempotent
    head = c.head(f"{WS}/blobs/{sha}")
    assert head.status_code == 200 and head.headers["content-length"] == str(len(data))
    assert c.get(f"{WS}/blobs/{sha}").content == data


def test_checksum_mismatch_is_400_and_stores_nothing(workspace_server: ServerProcess) -> None:
    c = workspace_server.client()
    claimed = hashlib.sha256(b"what the client claims").hexdigest()
    r = c.put(f"{WS}/blobs/{claimed}", content=b"something else")
    assert r.status_code == 400 and "checksum mismatch" in r.json()["message"]
    assert c.head(f"{WS}/blobs/{claimed}").status_code == 404
    assert not any(p.startswith("tmp/") for p in _blob_files(workspace_server))


def test_bad_hash_in_path_is_400(workspace_server: ServerProcess) -> None:
    c = workspace_server.client()
    assert c.put(f"{WS}/blobs/NOTAHASH", content=b"x").status_code == 400
    assert c.put(f"/workspaces/nope-ws/blobs/{'0' * 64}", content=b"x").status_code == 404


def test_interrupted_upload_leaves_no_blob_and_no_model(workspace_server: ServerProcess) -> None:
    c = workspace_server.client()
    data = os.urandom(2_000_000)
    sha = hashlib.sha256(data).hexdigest()
    parts = urlsplit(workspace_server.url)
    with socket.create_connection((parts.hostname, parts.port)) as s:
        head = (
            f"PUT /api/v1{WS}/blobs/{sha} HTTP/1.1\r\nHost: x\r\n"
            f"Authorization: Bearer {workspace_server.token}\r\n"
            f"Content-Length: {len(data)}\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
        s.sendall(head.encode() + data[: len(data) // 2])
    # The server notices the disconnect and removes its temporary file: poll for that.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(
        p.startswith("tmp/") for p in _blob_files(workspace_server)
    ):
        time.sleep(0.05)
    assert not any(p.startswith("tmp/") for p in _blob_files(workspace_server))
    assert c.head(f"{WS}/blobs/{sha}").status_code == 404
    entry = {"path": "m.bin", "sha256": sha, "size": len(data)}
    r = c.post(f"{WS}/models", json={"name": "interrupted", "files": [entry]})
    assert r.status_code == 400
    assert c.get(f"{WS}/models/interrupted/versions/latest").status_code == 404


def test_leftover_temp_files_are_removed_at_start(server_factory: ServerFactory) -> None:
    server = server_factory()
    home = server.home
    server.stop()
    tmp = home / "artifacts" / "tmp"
    leftover = tmp / f"{socket.gethostname().replace('.', '_')}.999999999.dead.part"
    leftover.write_bytes(b"half a file")
    server_factory(home=home)
    assert not leftover.exists()


_BLOCK = os.urandom(1 << 20)


def _chunks(total: int, chunk: int = 1 << 20) -> Iterator[bytes]:
    """The same bytes every time, generated on the fly (never the whole file in memory)."""
    block = _BLOCK[:chunk]
    sent = 0
    while sent < total:
        n = min(chunk, total - sent)
        yield block[:n]
        sent += n


def test_large_upload_streams_in_constant_memory(server_factory: ServerFactory) -> None:
    server = server_factory()
    c = server.client(timeout=300)
    c.get("/workspaces/default/models")  # warm up imports and the DB pool
    size = 400 * (1 << 20)
    digest = hashlib.sha256()
    for part in _chunks(size):
        digest.update(part)
    sha = digest.hexdigest()
    before = server.peak_rss_kb()
    r = c.put(f"{WS}/blobs/{sha}", content=_chunks(size))
    assert r.status_code == 201, r.text
    entry = {"path": "big.bin", "sha256": sha, "size": size}
    r = c.post(f"{WS}/models", json={"name": "big", "files": [entry]})
    assert r.status_code == 201
    with httpx.stream(
        "GET",
        f"{server.url}/api/v1{WS}/blobs/{sha}",
        headers={"Authorization": f"Bearer {server.token}"},
        timeout=300,
    ) as down:
        assert sum(len(b) for b in down.iter_bytes()) == size
    grown_mb = (server.peak_rss_kb() - before) / 1024
    assert grown_mb < 100, f"server peak memory grew by {grown_mb:.0f} MB"
