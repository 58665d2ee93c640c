"""Blob transfers of the SDK's client: hashed in chunks, uploaded unless the server has them,
downloaded to a temporary sibling, verified, renamed. Constant memory whatever the size.

:class:`BlobTransfers` is a mixin of :class:`modelport.sdk._http.Client`: it sends through the
client's ``request`` (errors mapped there) and, for streamed downloads, its httpx connection.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol
from urllib.parse import quote

from modelport.errors import ModelportError, ServerError, ServerUnreachable

if TYPE_CHECKING:
    import httpx

    from modelport.sdk._http import Response

CHUNK = 1024 * 1024


def _blob_path(workspace: str, sha256: str) -> str:
    return f"/workspaces/{quote(workspace, safe='')}/blobs/{sha256}"


class TransferProgress(Protocol):
    """Receives byte counts of one transfer at a time (the CLI draws a Rich bar with it)."""

    def start(self, label: str, total: int) -> None: ...

    def advance(self, nbytes: int) -> None: ...

    def stop(self) -> None: ...


class NoProgress:
    """Progress that draws nothing (the SDK's default)."""

    def start(self, label: str, total: int) -> None:
        pass

    def advance(self, nbytes: int) -> None:
        pass

    def stop(self) -> None:
        pass


def sha256_file(path: Path, progress: TransferProgress | None = None) -> tuple[str, int]:
    """Hash a file in chunks: (hex digest, size)."""
    import hashlib  # blob transfers only: a listing does not pay for it

    digest = hashlib.sha256()
    size = 0
    if progress is not None:
        progress.start(f"hash {path.name}", path.stat().st_size)
    try:
        with path.open("rb") as fh:
            while data := fh.read(CHUNK):
                digest.update(data)
                size += len(data)
                if progress is not None:
                    progress.advance(len(data))
    finally:
        if progress is not None:
            progress.stop()
    return digest.hexdigest(), size


class BlobTransfers:
    """Upload and download of content-addressed blobs (a mixin of ``Client``)."""

    progress: TransferProgress

    if TYPE_CHECKING:  # provided by Client

        def request(
            self,
            method: str,
            path: str,
            *,
            content: Any = None,
            headers: Mapping[str, str] | None = None,
            ok_statuses: tuple[int, ...] = (),
        ) -> Response: ...

        def _connect(self, *, restart: bool = False) -> httpx.Client: ...

        def _error(self, response: Response) -> ModelportError: ...

        def _unreachable(self, exc: Exception) -> ServerUnreachable: ...

    def blob_exists(self, workspace: str, sha256: str) -> bool:
        path = _blob_path(workspace, sha256)
        return self.request("HEAD", path, ok_statuses=(404,)).status_code != 404

    def upload_file(
        self, workspace: str, path: Path, *, label: str | None = None
    ) -> dict[str, Any]:
        """Upload a file as a blob unless the server has it: ``{"sha256", "size"}``."""
        # Large files take a while to hash before the upload can start: show that too.
        big = path.stat().st_size >= 64 * CHUNK
        sha256, size = sha256_file(path, self.progress if big else None)
        if not self.blob_exists(workspace, sha256):
            with path.open("rb") as fh:
                self._put_blob(workspace, sha256, size, fh, label or path.name)
        return {"sha256": sha256, "size": size}

    def upload_stream(self, workspace: str, stream: IO[bytes], *, label: str) -> dict[str, Any]:
        """Upload a binary stream: spooled to a temporary file first, since the hash comes first."""
        import hashlib
        import tempfile

        with tempfile.TemporaryFile() as spool:
            digest = hashlib.sha256()
            size = 0
            while data := stream.read(CHUNK):
                digest.update(data)
                spool.write(data)
                size += len(data)
            sha256 = digest.hexdigest()
            if not self.blob_exists(workspace, sha256):
                spool.seek(0)
                self._put_blob(workspace, sha256, size, spool, label)
        return {"sha256": sha256, "size": size}

    def _put_blob(self, workspace: str, sha256: str, size: int, fh: IO[bytes], label: str) -> None:
        progress = self.progress

        def chunks() -> Iterator[bytes]:
            while data := fh.read(CHUNK):
                progress.advance(len(data))
                yield data

        progress.start(f"upload {label}", size)
        try:
            self.request(
                "PUT",
                _blob_path(workspace, sha256),
                content=chunks(),
                headers={"Content-Type": "application/octet-stream", "Content-Length": str(size)},
            )
        finally:
            progress.stop()

    def download_blob(self, workspace: str, sha256: str, dest: Path, *, size: int = 0) -> None:
        """Stream a blob to ``dest``: written to a temporary sibling, verified, then renamed."""
        import hashlib
        import uuid

        dest.parent.mkdir(parents=True, exist_ok=True)
        # Not mkstemp: its 0600 would stick to the model file; 0666 & ~umask is what a copy gets.
        tmp = dest.parent / f".{dest.name}.{uuid.uuid4().hex[:12]}.part"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        import httpx

        http = self._connect()
        self.progress.start(f"download {dest.name}", size)
        try:
            with (
                os.fdopen(fd, "wb") as out,
                http.stream("GET", _blob_path(workspace, sha256)) as response,
            ):
                if not response.is_success:
                    response.read()
                    raise self._error(response)
                digest = hashlib.sha256()
                for data in response.iter_bytes(CHUNK):
                    out.write(data)
                    digest.update(data)
                    self.progress.advance(len(data))
            if digest.hexdigest() != sha256:
                raise ServerError(f"Checksum mismatch downloading {dest.name}: try again.")
            tmp.replace(dest)
        except httpx.TransportError as exc:
            tmp.unlink(missing_ok=True)
            raise self._unreachable(exc) from None
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        finally:
            self.progress.stop()
