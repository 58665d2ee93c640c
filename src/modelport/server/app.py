"""The FastAPI application of the workspace server: the one place its parts are assembled.

``create_app`` builds the deploy context and the reconciler once and hands them over: the
context to the routers (``ctx.deploy``), the reconciler's ``wake`` to the context, and the
reconciler's start/stop to the app's lifespan.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from fastapi import Depends, FastAPI
from fastapi.responses import JSONResponse

from modelport import __version__
from modelport.server import errors, security, studio
from modelport.server.api import PREFIX, ROUTERS
from modelport.server.api.deps import require_token
from modelport.server.context import ServerContext
from modelport.server.deploy.context import DeployContext
from modelport.server.observe import runtime as observe_runtime
from modelport.server.reconciler import Reconciler


def create_app(ctx: ServerContext) -> FastAPI:
    ctx.deploy = DeployContext.build(ctx)  # paths, secrets, the target driver
    reconciler = Reconciler(ctx.deploy, ctx.settings.reconcile_interval)
    ctx.deploy.wake = reconciler.wake  # API writes ask for a pass at once

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        reconciler.start()  # before the first request
        if ctx.settings.prebuild_environments:
            ctx.deploy.prebuild(ctx.settings.prebuild_environments)
        try:
            yield
        finally:
            reconciler.stop()  # after the last; replicas keep running (a new server adopts them)
            ctx.deploy.driver.close()

    app = FastAPI(
        title="modelport workspace server",
        version=__version__,
        lifespan=lifespan,
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

    studio.install(app)  # the web studio at / (pages call the API above in-process)
    observe_runtime.install(app, ctx)  # telemetry retention, OTLP export, webhooks, metrics scrape
    return app
