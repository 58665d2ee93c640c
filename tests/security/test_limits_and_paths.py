"""Request bodies are size-limited (413 ``{"message"}``), uploads stream to a bound, and file paths
in model, run and snapshot file lists cannot leave their folder."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import ServerProcess
from tests.security.support import (
    JSON_LIMIT,
    UPLOAD_LIMIT,
    WS,
    blob_problems,
    sha,
    temp_files,
)


@pytest.fixture(scope="module")
def server(limits_server: ServerProcess) -> ServerProcess:
    return limits_server  # tests/security/conftest.py: shared with test_routes_auth


def _artifacts(server: ServerProcess) -> Path:
    return server.home / "artifacts"


def test_json_body_over_the_limit_is_413_with_a_message(server: ServerProcess) -> None:
    c = server.client()
    r = c.post(f"{WS}/models", json={"name": "big", "description": "x" * (JSON_LIMIT + 10)})
    assert r.status_code == 413, r.text
    assert "at most 65536 bytes" in r.json()["message"]
    # the same body, chunked (no Content-Length), is cut off while it streams
    body = b'{"name": "big", "description": "' + b"x" * (JSON_LIMIT + 10) + b'"}'
    r = c.post(
        f"{WS}/models",
        content=iter([body[i : i + 8192] for i in range(0, len(body), 8192)]),
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 413, r.text
    assert c.get("/health").status_code == 200


def test_upload_over_the_limit_is_413_and_leaves_nothing_behind(server: ServerProcess) -> None:
    c = server.client()
    data = os.urandom(UPLOAD_LIMIT + 1)
    r = c.put(f"{WS}/blobs/{sha(data)}", content=iter([data[:500_000], data[500_000:]]))
    assert r.status_code == 413, r.text
    assert c.head(f"{WS}/blobs/{sha(data)}").status_code == 404
    assert temp_files(_artifacts(server)) == []
    ok = os.urandom(UPLOAD_LIMIT)  # exactly the limit is allowed
    assert c.put(f"{WS}/blobs/{sha(ok)}", content=ok).status_code == 201
    assert blob_problems(_artifacts(server)) == []


def test_declared_oversize_upload_is_refused_before_the_body(server: ServerProcess) -> None:
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(
            f"PUT /api/v1{WS}/blobs/{'a' * 64} HTTP/1.1\r\nHost: x\r\n"
            f"Authorization: Bearer {server.token}\r\n"
            f"Content-Length: {50 * 1024**3}\r\n\r\n".encode()
        )
        chunks = []
        while chunk := s.recv(65536):  # the server closes the connection after its answer
            chunks.append(chunk)
        answer = b"".join(chunks).decode()
    assert answer.startswith("HTTP/1.1 413"), answer
    assert '"message"' in answer


BAD_PATHS = [
    "../escape.bin",
    "model/../../escape.bin",
    "/etc/passwd",
    "model/\x00.bin",
    "model\\..\\escape.bin",
    "C:/windows/escape.bin",
    "c:escape.bin",
    "model//x.bin",
    "./model.bin",
    "",
    "model/\n.bin",
]


def test_bad_paths_in_model_run_and_snapshot_file_lists_are_400(server: ServerProcess) -> None:
    c = server.client()
    data = b"weights"
    assert c.put(f"{WS}/blobs/{sha(data)}", content=data).status_code in (200, 201)
    run = c.post(f"{WS}/experiments/paths/runs", json={}).json()
    refused = 0
    for bad in BAD_PATHS:
        entry = {"path": bad, "sha256": sha(data), "size": len(data)}
        r = c.post(f"{WS}/models", json={"name": "m", "files": [entry]})
        assert r.status_code == 400, (bad, r.text)
        r = c.post(f"{WS}/runs/{run['id']}/files", json={"files": [entry]})
        assert r.status_code == 400, (bad, r.text)
        r = c.post(
            f"{WS}/services",
            json={
                "name": "svc-paths",
                "models": [],
                "inferenceConfig": {"entryScript": "score.py"},
                "sourceSnapshot": {"files": [entry]},
                "environment": {"name": "AzureML-Minimal", "version": None},
            },
        )
        assert r.status_code == 400, (bad, r.text)
        refused += 3
    # modelRoot and assetPath are paths too
    for field in ({"modelRoot": "../x"}, {"runId": run["id"], "assetPath": "../x"}):
        body = {"name": "m", **field}
        if "runId" not in field:
            body["files"] = [{"path": "x/model.bin", "sha256": sha(data), "size": len(data)}]
        r = c.post(f"{WS}/models", json=body)
        assert r.status_code in (400, 404), (field, r.text)
        assert r.status_code != 500
        refused += 1
    assert c.get(f"{WS}/models").json()["value"] == []
    print(f"\n[campaign] escaping paths refused: {refused}")


def test_blob_names_are_only_sha256(server: ServerProcess) -> None:
    c = server.client()
    for name in ("..%2f..%2fdb.sqlite", "A" * 64, "0" * 63, "0" * 65, "%00" + "0" * 61):
        for method in ("GET", "HEAD", "PUT"):
            r = c.request(method, f"{WS}/blobs/{name}", content=b"x" if method == "PUT" else None)
            assert r.status_code in (400, 404, 405), (method, name, r.status_code)
    assert c.get(f"/workspaces/..%2f..%2f/blobs/{'0' * 64}").status_code in (400, 404)


def test_large_but_allowed_model_file_list_is_accepted(server: ServerProcess) -> None:
    c = server.client()
    data = b"w"
    assert c.put(f"{WS}/blobs/{sha(data)}", content=data).status_code in (200, 201)
    files = [{"path": f"many/f{i}.bin", "sha256": sha(data), "size": 1} for i in range(400)]
    r = c.post(f"{WS}/models", json={"name": "many", "files": files})
    assert r.status_code == 201, r.text


def test_wrong_length_and_interrupted_uploads_store_nothing(server: ServerProcess) -> None:
    data = os.urandom(200_000)
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(
            f"PUT /api/v1{WS}/blobs/{sha(data)} HTTP/1.1\r\nHost: x\r\n"
            f"Authorization: Bearer {server.token}\r\n"
            f"Content-Length: {len(data)}\r\n\r\n".encode()
            + data[:100_000]
        )  # and hang up half way
    c = server.client()
    # the server notices the hang-up and removes its temp file
    deadline = time.monotonic() + 10
    while temp_files(_artifacts(server)):
        assert time.monotonic() < deadline, temp_files(_artifacts(server))
        time.sleep(0.1)  # poll interval, bounded by the deadline
    assert c.head(f"{WS}/blobs/{sha(data)}").status_code == 404
    r = c.put(f"{WS}/blobs/{sha(data)}", content=data[:-1])
    assert r.status_code == 400 and "checksum" in r.json()["message"]
    assert temp_files(_artifacts(server)) == []
    assert httpx.get(f"{server.url}/api/v1/health").status_code == 200


def test_snapshot_paths_that_collide_with_the_app_root_layout_are_400(
    server: ServerProcess,
) -> None:
    c = server.client()
    script = b"def init(): pass\ndef run(raw): return 1\n"
    data = b"x"
    for blob in (script, data):
        assert c.put(f"{WS}/blobs/{sha(blob)}", content=blob).status_code in (200, 201)
    entry = {"path": "score.py", "sha256": sha(script), "size": len(script)}
    for extra in ("azureml-models", "azureml-models/m/1/m.bin", "score.py/inner"):
        files = [entry, {"path": extra, "sha256": sha(data), "size": 1}]
        r = c.post(
            f"{WS}/services",
            json={
                "name": "collide",
                "models": [],
                "inferenceConfig": {"entryScript": "score.py"},
                "sourceSnapshot": {"files": files},
                "environment": {"name": "AzureML-Minimal", "version": None},
            },
        )
        assert r.status_code == 400, (extra, r.status_code, r.text)
        assert "sourceSnapshot" in r.json()["message"]


def test_stored_blobs_are_read_only(server: ServerProcess) -> None:
    c = server.client()
    data = os.urandom(100)
    assert c.put(f"{WS}/blobs/{sha(data)}", content=data).status_code == 201
    blob = _artifacts(server) / "blobs" / "sha256" / sha(data)[:2] / sha(data)[2:]
    assert blob.stat().st_mode & 0o222 == 0, oct(blob.stat().st_mode)


def test_model_files_that_could_never_be_deployed_are_refused_at_registration(
    server: ServerProcess,
) -> None:
    c = server.client()
    data = b"weights"
    assert c.put(f"{WS}/blobs/{sha(data)}", content=data).status_code in (200, 201)

    def entry(path: str) -> dict[str, object]:
        return {"path": path, "sha256": sha(data), "size": len(data)}

    cases = {
        "file and folder": [entry("m/a"), entry("m/a/b.bin")],
        "long component": [entry("m/" + "x" * 256)],
        "long multibyte component": [entry("m/" + "é" * 128)],  # 256 bytes in UTF-8
    }
    for what, files in cases.items():
        r = c.post(f"{WS}/models", json={"name": "undeployable", "files": files})
        assert r.status_code == 400, (what, r.text)
        message = r.json()["message"]
        assert str(server.home) not in message, message  # no server path in the answer
    ok = c.post(f"{WS}/models", json={"name": "fine", "files": [entry("m/" + "x" * 255)]})
    assert ok.status_code == 201, ok.text
