"""(d) The artifact store's disk fills up (a 20 MB tmpfs): uploads fail cleanly with 507 and a
message, no partial file is left, and every earlier model is intact and downloadable."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ServerProcess, start_server
from tests.security.support import WS, blob_problems, sha, temp_files


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "small-disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=20m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a 20 MB tmpfs here (needs root): {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


@pytest.mark.slow
def test_full_artifact_disk_fails_registration_cleanly(small_disk: Path, tmp_path: Path) -> None:
    server: ServerProcess = start_server(tmp_path / "home", artifacts=small_disk)
    try:
        c = server.client()
        kept = {}
        for _ in range(3):
            data = os.urandom(3 * 1024 * 1024)
            entry = {"path": "w.bin", "sha256": sha(data), "size": len(data)}
            assert c.put(f"{WS}/blobs/{sha(data)}", content=data).status_code == 201
            r = c.post(f"{WS}/models", json={"name": "early", "files": [entry]})
            assert r.status_code == 201, r.text
            kept[r.json()["version"]] = data
        refused = 0
        for size in (30 * 1024 * 1024, 12 * 1024 * 1024):  # over the disk, then over what is left
            big = os.urandom(size)
            r = c.put(f"{WS}/blobs/{sha(big)}", content=big)
            assert r.status_code == 507, (r.status_code, r.text)
            assert "storage is full" in r.json()["message"]
            assert temp_files(small_disk) == []
            assert c.head(f"{WS}/blobs/{sha(big)}").status_code == 404
            entry = {"path": "big.bin", "sha256": sha(big), "size": size}
            r = c.post(f"{WS}/models", json={"name": "late", "files": [entry]})
            assert r.status_code == 400 and "big.bin" in r.json()["message"], r.text
            refused += 1
        # everything earlier is intact
        for version, data in kept.items():
            model = c.get(f"{WS}/models/early/versions/{version}").json()
            assert c.get(f"{WS}/blobs/{model['files'][0]['sha256']}").content == data
        assert blob_problems(small_disk) == []
        assert c.get(f"{WS}/models", params={"name": "late"}).json()["value"] == []
        # and the store works again once there is room
        small = os.urandom(1024)
        assert c.put(f"{WS}/blobs/{sha(small)}", content=small).status_code == 201
        assert server.proc.poll() is None
        print(
            f"\n[campaign] disk full: {refused} uploads refused with 507, {len(kept)} models intact"
        )
    finally:
        server.stop()
