"""Dependencies of the routers: the server context, the bearer-token check and paging parameters."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from modelport.errors import AuthenticationError, NotFound
from modelport.server.context import ServerContext
from modelport.server.store import workspaces

_bearer = HTTPBearer(
    auto_error=False,
    description="The workspace server token (HOME/token for a local server).",
)


# The dependencies are ``async`` although they do no I/O: FastAPI runs sync dependencies in the
# thread pool, and a hop per dependency per request is measurable on the hot paths.
async def context(request: Request) -> ServerContext:
    ctx: ServerContext = request.app.state.ctx
    return ctx


Ctx = Annotated[ServerContext, Depends(context)]


async def require_token(
    ctx: Ctx,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """401 unless the request carries ``Authorization: Bearer <token>``."""
    if creds is None:
        raise AuthenticationError("missing bearer token: send 'Authorization: Bearer <token>'")
    if not hmac.compare_digest(creds.credentials.encode(), ctx.token.encode()):
        raise AuthenticationError("wrong bearer token for this workspace server")


Limit = Annotated[int, Query(ge=1, le=1000, description="Page size.")]
After = Annotated[
    str | None, Query(max_length=4096, description="Cursor from the previous page's `next`.")
]


async def workspace_name(ws: str) -> str:
    """A name that breaks the naming rule cannot exist: 404 before touching the database."""
    if not workspaces.NAME_RULE.fullmatch(ws):
        raise NotFound(f"workspace {ws!r} not found")
    return ws


WorkspaceName = Annotated[str, Depends(workspace_name)]
