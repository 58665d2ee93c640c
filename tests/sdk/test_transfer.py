"""Blob transfers stream: client memory stays flat however large the model is."""

from __future__ import annotations

import hashlib
import tracemalloc
from pathlib import Path

from modelport import Model, Workspace

SIZE = 48 * 1024 * 1024


def test_large_model_uploads_and_downloads_in_constant_memory(
    ws: Workspace, tmp_path: Path
) -> None:
    big = tmp_path / "big.bin"
    with big.open("wb") as fh:
        block = hashlib.sha256(b"seed").digest() * (1024 * 1024 // 32)  # 1 MiB, not all zeros
        for _ in range(SIZE // len(block)):
            fh.write(block)
    tracemalloc.start()
    try:
        model = Model.register(ws, big, "big-model")
        _, upload_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        path = Path(model.download(tmp_path / "out"))
        _, download_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert upload_peak < 12 * 1024 * 1024, upload_peak
    assert download_peak < 12 * 1024 * 1024, download_peak
    assert path.stat().st_size == SIZE
    assert model.files[0]["sha256"] == hashlib.sha256(big.read_bytes()).hexdigest()
    # A second registration of the same bytes uploads nothing new: the blob is already there.
    assert Model.register(ws, big, "big-model").files[0]["sha256"] == model.files[0]["sha256"]


def test_downloaded_files_get_ordinary_permissions(ws: Workspace, tmp_path: Path) -> None:
    import os

    (tmp_path / "small.bin").write_bytes(b"small")
    model = Model.register(ws, tmp_path / "small.bin", "perm-model")
    path = Path(model.download(tmp_path / "out"))
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
