"""Content-addressed artifact store on a local (or shared) directory.

A blob lives at ``blobs/sha256/<2 hex>/<62 hex>``. An upload streams into ``tmp/`` while it is
hashed, is fsynced, and only then renamed into place, so a blob path never holds a partial or
wrong file; several server processes may share the directory (the rename is atomic and the
content of a name never changes).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO

from anyio import to_thread

from modelport.errors import UserError

_STALE_TEMP_SECONDS = 24 * 3600


class ArtifactStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.blobs = root / "blobs" / "sha256"
        self.tmp = root / "tmp"
        self.blobs.mkdir(parents=True, exist_ok=True)
        self.tmp.mkdir(parents=True, exist_ok=True)
        self._host = socket.gethostname().replace(".", "_")

    def path(self, sha256: str) -> Path:
        return self.blobs / sha256[:2] / sha256[2:]

    def size(self, sha256: str) -> int | None:
        """Size of the stored blob, or None when it is not stored."""
        try:
            return self.path(sha256).stat().st_size
        except FileNotFoundError:
            return None

    async def put(self, sha256: str, chunks: AsyncIterator[bytes]) -> tuple[int, bool]:
        """Store the streamed bytes under ``sha256``; return (size, created).

        Memory stays constant: each chunk is hashed and written, then dropped. On a checksum
        mismatch or an interrupted stream the temporary file is removed and nothing is stored.
        """
        existing = self.size(sha256)
        if existing is not None:
            async for _ in chunks:  # drain the body so that the client sees a clean answer
                pass
            return existing, False
        tmp = self.tmp / f"{self._host}.{os.getpid()}.{uuid.uuid4().hex}.part"
        digest = hashlib.sha256()
        size = 0
        try:
            with open(tmp, "xb") as f:
                async for chunk in chunks:
                    digest.update(chunk)
                    f.write(chunk)
                    size += len(chunk)
                if digest.hexdigest() != sha256:
                    raise UserError(
                        f"checksum mismatch: received {size} bytes with sha256 "
                        f"{digest.hexdigest()}, expected {sha256}"
                    )
                await to_thread.run_sync(_flush_and_sync, f)
            await to_thread.run_sync(self._publish, tmp, sha256)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            raise
        return size, True

    def _publish(self, tmp: Path, sha256: str) -> None:
        final = self.path(sha256)
        final.parent.mkdir(parents=True, exist_ok=True)
        # Read-only: model files are hard links of blobs in app roots, and a replica (not running
        # as root) that opens its model for writing must not change the blob for everyone.
        os.chmod(tmp, 0o444)
        os.replace(tmp, final)
        _fsync_dir(final.parent)

    def clean_temp(self) -> int:
        """Remove temp files left by dead processes of this host (or very old ones); return count."""
        removed = 0
        now = time.time()
        for entry in self.tmp.glob("*.part"):
            host, _, rest = entry.name.partition(".")
            pid_text = rest.partition(".")[0]
            ours = host == self._host and pid_text.isdigit()
            try:
                stale = (ours and not _alive(int(pid_text))) or (
                    now - entry.stat().st_mtime > _STALE_TEMP_SECONDS
                )
                if stale:
                    entry.unlink()
                    removed += 1
            except FileNotFoundError:
                continue
        return removed


def _flush_and_sync(f: BinaryIO) -> None:
    f.flush()
    os.fsync(f.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # called at start: a file with our pid predates us (pid reuse)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
