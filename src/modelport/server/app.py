"""The FastAPI application of the workspace server."""

from __future__ import annotations

from fastapi import Depends, FastAPI
from fastapi.responses import JSONResponse

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
        # Served below, behind the token like every route but health.
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.state.ctx = ctx
    errors.install(app)
    security.install(app)  # body size limits, failed-auth rate limit, 507 on a full disk
    for router, needs_token in ROUTERS:
        deps = [Depends(require_token)] if needs_token else []
        app.include_router(router, prefix=PREFIX, dependencies=deps)

    @app.get(
        f"{PREFIX}/openapi.json", include_in_schema=False, dependencies=[Depends(require_token)]
    )
    async def openapi() -> JSONResponse:
        return JSONResponse(app.openapi())

    deploy_lifecycle.install(app, ctx)  # deployments: the reconciler runs with the app
    return app
