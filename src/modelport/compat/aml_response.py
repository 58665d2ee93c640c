"""``azureml.contrib.services.aml_response``: a response run() returns as is."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = ["AMLResponse"]


class AMLResponse:
    """``AMLResponse(message, status_code, response_headers={}, json_str=False, run_function_failed=False)``.

    ``message=None`` sends ``{}`` as JSON; ``json_str=True`` sends ``json.dumps(message)`` as JSON;
    otherwise the str/bytes message is sent as ``text/html; charset=utf-8`` (Flask's default).
    Header values containing commas are split into repeated headers, as the original does.
    """

    def __init__(
        self,
        message: Any,
        status_code: int,
        response_headers: Mapping[str, Any] | None = None,
        json_str: bool = False,
        run_function_failed: bool = False,
    ) -> None:
        self.status_code = int(status_code)
        self.run_function_failed = run_function_failed
        content_type = "text/html; charset=utf-8"
        if message is None:
            body: bytes = b"{}"
            content_type = "application/json"
        elif json_str:
            body = json.dumps(message).encode("utf-8")
            content_type = "application/json"
        elif isinstance(message, bytes | bytearray | memoryview):
            body = bytes(message)
        else:
            body = str(message).encode("utf-8")
        self.body = body
        self.headers: list[tuple[str, str]] = []
        given = {k.lower() for k in (response_headers or {})}
        if "content-type" not in given:
            self.headers.append(("Content-Type", content_type))
        for name, value in (response_headers or {}).items():
            for part in str(value).split(","):
                self.headers.append((str(name), part.strip()))
        if run_function_failed:
            self.headers.append(("x-ms-run-function-failed", "True"))

    @property
    def mimetype(self) -> str:
        for k, v in self.headers:
            if k.lower() == "content-type":
                return v.split(";", 1)[0].strip()
        return ""

    @property
    def content_type(self) -> str:
        for k, v in self.headers:
            if k.lower() == "content-type":
                return v
        return ""

    @property
    def data(self) -> bytes:
        return self.body

    def get_data(self, as_text: bool = False) -> bytes | str:
        return self.body.decode("utf-8", "replace") if as_text else self.body

    @property
    def status(self) -> str:
        return str(self.status_code)

    def __repr__(self) -> str:
        return f"<AMLResponse {self.status_code} {len(self.body)} bytes>"
