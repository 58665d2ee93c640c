"""Start the reconciler with the server's app and stop it (leaving replicas running) on shutdown."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import FastAPI

from modelport.server.context import ServerContext


def install(app: FastAPI, ctx: ServerContext) -> None:
    """Wrap the app's lifespan: reconciler up before the first request, down after the last."""
    inner: Callable[[Any], Any] = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(a: Any) -> AsyncIterator[Any]:
        from modelport.server import reconciler
        from modelport.server.deploy.context import deploy_context, forget

        dctx = deploy_context(ctx)
        running = reconciler.start(dctx)
        try:
            async with inner(a) as state:
                yield state
        finally:
            running.stop()
            dctx.driver.close()
            forget(ctx)

    app.router.lifespan_context = lifespan
