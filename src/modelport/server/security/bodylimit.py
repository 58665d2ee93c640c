"""Request body size limits (plain ASGI): small for JSON, large but bounded for blob uploads.

A declared ``Content-Length`` over the limit is refused before a byte is read; a chunked body is
counted as it streams and cut off at the limit, so memory and disk use stay bounded either way.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_BLOB_PUT = re.compile(r"^/api/v1/workspaces/[^/]+/blobs/[^/]+$")


class BodyLimit:
    def __init__(self, app: ASGIApp, json_limit: int, upload_limit: int) -> None:
        self.app = app
        self.json_limit = json_limit
        self.upload_limit = upload_limit

    def limit_for(self, scope: Scope) -> int:
        if scope["method"] == "PUT" and _BLOB_PUT.match(scope["path"]):
            return self.upload_limit
        return self.json_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _too_large(limit, declared)(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # Raised inside the app: the route's cleanup (temp files) runs, and the
                    # exception handlers turn it into the 413 answer.
                    raise HTTPException(413, _message(limit, None))
            return message

        await self.app(scope, counted, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _message(limit: int, declared: int | None) -> str:
    got = f" ({declared} bytes sent)" if declared is not None else ""
    return f"request body too large{got}: this route accepts at most {limit} bytes"


def _too_large(limit: int, declared: int) -> Any:
    # Connection: close, because the unread body must not be parsed as the next request.
    return JSONResponse(
        {"message": _message(limit, declared)}, status_code=413, headers={"Connection": "close"}
    )
