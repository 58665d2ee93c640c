"""What the observe features keep per server process: the OTLP exporter, replica drop counts and
the background sweeper that prunes telemetry past its retention."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

from fastapi import FastAPI

from modelport.server.context import ServerContext
from modelport.server.observe.settings import ObserveSettings
from modelport.server.store import telemetry as telemetry_store
from modelport.server.store.base import utcnow

log = logging.getLogger("modelport.server.observe")


class ObserveRuntime:
    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx
        self.settings = ObserveSettings.from_env(ctx.settings.home)
        self.exporter: Any = None
        if self.settings.otlp_endpoint:
            from modelport.server.observe.otlp import OtlpExporter

            self.exporter = OtlpExporter()
        # the latest drop count each replica reported: (workspace, service, replica) -> count
        self.dropped: dict[tuple[str, str, str], int] = {}
        self.stopping = threading.Event()
        from modelport.server.observe.metrics import Scraper

        self.scraper = Scraper(ctx, self.settings)
        self.threads: list[threading.Thread] = []

    def start(self) -> None:
        from modelport.server.observe.webhooks import Dispatcher

        dispatcher = Dispatcher(self.ctx, self.settings)
        jobs = (("observe-sweep", self._sweep), ("webhooks", dispatcher.run),
                ("metrics", self.scraper.run))  # fmt: skip
        for name, target in jobs:
            t = threading.Thread(target=target, args=() if name == "observe-sweep" else (self.stopping,),
                                 name=name, daemon=True)  # fmt: skip
            t.start()
            self.threads.append(t)

    def _sweep(self) -> None:
        while not self.stopping.wait(self.settings.sweep_seconds):
            try:
                self.prune()
            except Exception:  # the next sweep tries again
                log.exception("pruning old telemetry failed")

    def prune(self) -> int:
        before = utcnow() - timedelta(hours=self.settings.retention_hours)
        with self.ctx.store.write() as s:
            return telemetry_store.prune(s, before)

    def stop(self) -> None:
        self.stopping.set()
        for t in self.threads:
            t.join(timeout=5)
        if self.exporter is not None:
            self.exporter.shutdown()


_RUNTIMES: dict[int, ObserveRuntime] = {}
_LOCK = threading.Lock()


def runtime(ctx: ServerContext) -> ObserveRuntime:
    with _LOCK:
        rt = _RUNTIMES.get(id(ctx))
        if rt is None:
            rt = _RUNTIMES[id(ctx)] = ObserveRuntime(ctx)
        return rt


def install(app: FastAPI, ctx: ServerContext) -> None:
    """Background work of the observe features runs with the app and stops with it."""
    from fastapi import Depends

    from modelport.server.api.deps import require_token
    from modelport.server.api.metrics import prometheus

    # Prometheus' default metrics_path: the same exposition as /api/v1/metrics, behind the token
    app.add_api_route("/metrics", prometheus, methods=["GET"], include_in_schema=False,
                      dependencies=[Depends(require_token)])  # fmt: skip
    inner: Callable[[Any], Any] = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(a: Any) -> AsyncIterator[Any]:
        rt = runtime(ctx)
        rt.start()
        try:
            async with inner(a) as state:
                yield state
        finally:
            rt.stop()
            with _LOCK:
                _RUNTIMES.pop(id(ctx), None)

    app.router.lifespan_context = lifespan
