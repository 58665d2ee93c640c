"""Form bodies for ``AMLRequest.form``/``files``: urlencoded and multipart/form-data (stdlib only)."""

from __future__ import annotations

import io
import shutil
from email.parser import BytesParser
from email.policy import HTTP
from typing import IO, Any
from urllib.parse import parse_qsl


class FileStorage:
    """An uploaded file, shaped like Werkzeug's: ``read()``, ``stream``, ``filename``, ``save()``."""

    def __init__(
        self, data: bytes, filename: str | None, name: str, content_type: str | None
    ) -> None:
        self.stream: IO[bytes] = io.BytesIO(data)
        self.filename = filename
        self.name = name
        self.content_type = content_type
        self.mimetype = (content_type or "").split(";", 1)[0].strip()

    def read(self, size: int = -1) -> bytes:
        return self.stream.read(size)

    def save(self, dst: Any) -> None:
        self.stream.seek(0)
        if isinstance(dst, str | bytes) or hasattr(dst, "__fspath__"):
            with open(dst, "wb") as f:
                shutil.copyfileobj(self.stream, f)
        else:
            shutil.copyfileobj(self.stream, dst)

    def __repr__(self) -> str:
        return f"<FileStorage: {self.filename!r} ({self.content_type!r})>"


def parse_form(
    content_type: str, body: bytes
) -> tuple[list[tuple[str, str]], list[tuple[str, FileStorage]]]:
    """Split a form body into (fields, files); anything else gives two empty lists."""
    mimetype = content_type.split(";", 1)[0].strip().lower()
    if mimetype == "application/x-www-form-urlencoded":
        return parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True), []
    if mimetype != "multipart/form-data":
        return [], []
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
    message = BytesParser(policy=HTTP).parsebytes(head + body)
    fields: list[tuple[str, str]] = []
    files: list[tuple[str, FileStorage]] = []
    if not message.is_multipart():
        return fields, files
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        filename = part.get_filename()
        if filename is not None:
            files.append((name, FileStorage(data, filename, name, part.get_content_type())))
        else:
            charset = part.get_content_charset() or "utf-8"
            fields.append((name, data.decode(charset, "replace")))
    return fields, files
