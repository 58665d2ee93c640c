"""The studio's way to the workspace: the server's own REST API, called in-process.

Pages are a client like the CLI and the SDK: every read and write goes through ``/api/v1`` over an
ASGI transport (no socket), with the server's token. So the studio has exactly the API's
validation, business rules, errors and authorisation, and no second copy of any of them.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
from fastapi import Request

from modelport.errors import ModelportError, NotFound, error_for_status
from modelport.server.api import PREFIX
from modelport.server.context import ServerContext


class Api:
    def __init__(self, request: Request, token: str | None = None) -> None:
        """``token``: another credential to present (sign-in checks the one a user typed)."""
        ctx: ServerContext = request.app.state.ctx
        # The browser's address, so the API's failed-authentication limit counts per client.
        client = (request.client.host, request.client.port) if request.client else ("?", 0)
        self._client = httpx.AsyncClient(
            # an unexpected API failure is its logged 500 answer here, not an exception
            transport=httpx.ASGITransport(
                app=request.app, raise_app_exceptions=False, client=client
            ),
            base_url=f"http://studio.internal{PREFIX}",
            headers={"Authorization": f"Bearer {token or ctx.token}"},
            timeout=60.0,
        )

    async def __aenter__(self) -> Api:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._client.aclose()

    async def call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        content: bytes | None = None,
    ) -> httpx.Response:
        clean = {k: v for k, v in (params or {}).items() if v not in (None, "", False)}
        r = await self._client.request(
            method, _escaped(path), params=clean, json=json, content=content
        )
        if r.status_code >= 400:
            raise error_for_status(r.status_code, _message(r))
        return r

    async def get(self, path: str, **params: Any) -> Any:
        return (await self.call("GET", path, params=params)).json()

    async def post(self, path: str, body: Any = None) -> Any:
        r = await self.call("POST", path, json=body)
        return r.json() if r.content else None

    async def patch(self, path: str, body: Any) -> Any:
        return (await self.call("PATCH", path, json=body)).json()

    async def delete(self, path: str) -> Any:
        r = await self.call("DELETE", path)
        return r.json() if r.content else None

    async def put_blob(self, ws: str, sha256: str, data: bytes) -> None:
        await self.call("PUT", f"/workspaces/{ws}/blobs/{sha256}", content=data)


def _escaped(path: str) -> str:
    """Names from the page's URL stay one path segment each: no '?', '#' or '..' smuggling."""
    parts = path.split("/")
    if any(p in (".", "..") for p in parts):
        raise NotFound(f"{path!r} not found")
    return "/".join(quote(p, safe=":@!$&'()*+,;=") for p in parts)


def _message(r: httpx.Response) -> str:
    try:
        return str(r.json()["message"])
    except (ValueError, KeyError, TypeError):
        return f"HTTP {r.status_code}"


__all__ = ["Api", "ModelportError"]
