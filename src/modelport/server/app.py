"""The FastAPI application of the workspace server."""

from __future__ import annotations

from fastapi import Depends, FastAPI

from modelport import __version__
from modelport.server import errors, security
from modelport.server.api import PREFIX, ROUTERS
from modelport.server.api.deps import require_token
from modelport.server.context import ServerContext
from modelport.server.deploy import lifecycle as deploy_lifecycle


def create_app(ctx: ServerContext) -> FastAPI:
    app = FastAPI(
        title="modelport workspace server",
        version=__version__,
        openapi_url=f"{PREFIX}/openapi.json",
        docs_url=f"{PREFIX}/docs",
        redoc_url=None,
    )
    app.state.ctx = ctx
    errors.install(app)
    security.install(app)  # body size limits, failed-auth rate limit, 507 on a full disk
    for router, needs_token in ROUTERS:
        deps = [Depends(require_token)] if needs_token else []
        app.include_router(router, prefix=PREFIX, dependencies=deps)
    deploy_lifecycle.install(app, ctx)  # deployments: the reconciler runs with the app
    return app
