"""``azureml.contrib.services.aml_response``: a response run() returns as is.

The original ``AMLResponse`` is a Flask (Werkzeug) ``Response``; scripts use that side of it:
``resp.headers[...] = ...`` (a Werkzeug-style :class:`~modelport.compat.headers.Headers`),
``status``/``status_code``, ``get_data()``, ``mimetype``. A message that is an iterator or a
generator (sync or async) is streamed: each chunk goes out as it is produced, with chunked
transfer encoding (server-sent events work this way).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterable, Iterable, Iterator, Mapping
from http import HTTPStatus
from typing import Any

from modelport.compat.headers import Headers

__all__ = ["AMLResponse"]


def encode_chunk(chunk: Any) -> bytes:
    """One streamed chunk as bytes: text as UTF-8, bytes as they are, anything else as ``str()``."""
    if isinstance(chunk, bytes):
        return chunk
    if isinstance(chunk, bytearray | memoryview):
        return bytes(chunk)
    return str(chunk).encode("utf-8")


def _is_stream(message: Any) -> bool:
    if isinstance(message, AsyncIterable):
        return True
    return isinstance(message, Iterator)


class AMLResponse:
    """``AMLResponse(message, status_code, response_headers={}, json_str=False, run_function_failed=False)``.

    As the original: ``message=None`` sends ``{}`` as JSON; ``json_str=True`` sends
    ``json.dumps(message)`` as ``application/json``; a str/bytes message goes as
    ``text/html; charset=utf-8`` unless ``response_headers`` has a ``"Content-Type"`` key (exact
    case, as the original checks), which then replaces it. Header values are split at commas into
    repeated headers. ``x-ms-run-function-failed`` is always set, ``"False"`` by default.
    """

    default_mimetype = "text/html"

    def __init__(
        self,
        message: Any,
        status_code: int,
        response_headers: Mapping[str, Any] | None = None,
        json_str: bool = False,
        run_function_failed: bool = False,
    ) -> None:
        given = dict(response_headers or {})
        self.headers = Headers()
        self.status_code = int(status_code)
        self.run_function_failed = run_function_failed
        self.response: Iterable[Any] | AsyncIterable[Any] | None = None
        self._body = b""
        if message is None:
            self._set_json("{}")
        elif json_str:
            self._set_json(json.dumps(message))
        else:
            self.headers.set("Content-Type", "text/html; charset=utf-8")
            if _is_stream(message):
                self.response = message
            elif isinstance(message, list | tuple):  # Werkzeug joins a sequence of chunks
                self._body = b"".join(encode_chunk(c) for c in message)
            else:
                self._body = encode_chunk(message)
            if "Content-Type" in given:  # the original removes its own only for this spelling
                self.headers.remove("Content-Type")
        self.headers["x-ms-run-function-failed"] = run_function_failed
        for name, value in given.items():
            for part in str(value).split(","):
                self.headers.add(name, part.strip())

    def _set_json(self, text: str) -> None:
        self._body = text.encode("utf-8")
        self.headers.set("Content-Type", "application/json")

    # ------------------------------------------------------------------ status
    @property
    def status(self) -> str:
        """``"200 OK"``, as Werkzeug shows it."""
        try:
            return f"{self.status_code} {HTTPStatus(self.status_code).phrase.upper()}"
        except ValueError:
            return f"{self.status_code} UNKNOWN"

    @status.setter
    def status(self, value: str | int) -> None:
        self.status_code = int(str(value).split(" ", 1)[0])

    # ------------------------------------------------------------------ body
    @property
    def is_streamed(self) -> bool:
        return self.response is not None

    @property
    def body(self) -> bytes:
        """The body when it is not streamed (reading it must not consume a stream)."""
        return self._body

    def get_data(self, as_text: bool = False) -> bytes | str:
        """The whole body; a sync stream is read to its end first (as Werkzeug does)."""
        if self.response is not None and not isinstance(self.response, AsyncIterable):
            self._body = b"".join(encode_chunk(c) for c in self.response)
            self.response = None
        return self._body.decode("utf-8", "replace") if as_text else self._body

    def set_data(self, value: str | bytes) -> None:
        self.response = None
        self._body = encode_chunk(value)

    @property
    def data(self) -> bytes:
        return self.get_data()  # type: ignore[return-value]

    @data.setter
    def data(self, value: str | bytes) -> None:
        self.set_data(value)

    @property
    def content_type(self) -> str:
        return str(self.headers.get("Content-Type", ""))

    @content_type.setter
    def content_type(self, value: str) -> None:
        self.headers.set("Content-Type", value)

    @property
    def mimetype(self) -> str:
        return self.content_type.split(";", 1)[0].strip()

    @mimetype.setter
    def mimetype(self, value: str) -> None:
        self.content_type = value

    @property
    def content_length(self) -> int | None:
        return None if self.is_streamed else len(self._body)

    def __repr__(self) -> str:
        size = "streamed" if self.is_streamed else f"{len(self._body)} bytes"
        return f"<AMLResponse {size} [{self.status_code}]>"
