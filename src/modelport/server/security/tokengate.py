"""The workspace token, checked before anything else of a request (plain ASGI).

FastAPI reads and parses a route's JSON body before it resolves the route's dependencies, so a
token check done as a dependency let an anonymous client make the server read and parse 8 MiB
first. Here a request under ``/api/v1`` without the right token is answered 401 from its head
alone; the route's own ``require_token`` stays as a second line. The unread body is drained by
the protocol and the connection closed at its deadline (http_protocol.py).
"""

from __future__ import annotations

import hmac
import re

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from starlette.responses import JSONResponse
from starlette.routing import compile_path
from starlette.types import ASGIApp, Receive, Scope, Send

PREFIX = "/api/v1/"
OPEN_PATHS = frozenset({"/api/v1/health"})  # until open_routes() has looked at the app
MISSING = "missing bearer token: send 'Authorization: Bearer <token>'"
WRONG = "wrong bearer token for this workspace server"


def bearer(scope: Scope) -> str | None:
    """The credential of the ``Authorization`` header (the whole value when not ``Bearer``)."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            text = bytes(value).decode("latin-1")
            scheme, _, credentials = text.partition(" ")
            return credentials.strip() if scheme.lower() == "bearer" else text
    return None


def is_server_token(scope: Scope, presented: str) -> bool:
    app = scope.get("app")
    ctx = getattr(getattr(app, "state", None), "ctx", None)
    token = getattr(ctx, "token", None)
    if not isinstance(token, str):
        return False
    return hmac.compare_digest(presented.encode("utf-8", "replace"), token.encode())


def needs_token(scope: Scope) -> bool:
    path: str = scope["path"]
    if not path.startswith(PREFIX):
        return False  # the studio's pages have sessions of their own
    state = getattr(scope.get("app"), "state", None)
    open_paths: list[re.Pattern[str]] | None = getattr(state, "token_free_routes", None)
    if open_paths is None:
        return path not in OPEN_PATHS
    return not any(p.match(path) for p in open_paths)


def open_routes(app: FastAPI, routers: list[tuple[APIRouter, bool]]) -> None:
    """Remember the API routes registered without the token (health; replicas' ingestion, with
    keys of their own): the gate lets those through to their own checks."""
    found = []
    for router, needs in routers:
        if not needs:
            found += [compile_path(PREFIX.rstrip("/") + r.path)[0] for r in router.routes
                      if isinstance(r, APIRoute)]  # fmt: skip
    app.state.token_free_routes = found


class TokenGate:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not needs_token(scope):
            await self.app(scope, receive, send)
            return
        presented = bearer(scope)
        if presented is not None and is_server_token(scope, presented):
            await self.app(scope, receive, send)
            return
        await JSONResponse(
            {"message": WRONG if presented is not None else MISSING},
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
        )(scope, receive, send)
