"""Metrics across replicas: a service's short history, and one Prometheus endpoint for all."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import PlainTextResponse

from modelport.errors import NotFound
from modelport.server.api.deps import Ctx, WorkspaceName
from modelport.server.observe.runtime import runtime
from modelport.server.observe.since import parse_since
from modelport.server.store import services as service_records

router = APIRouter(tags=["metrics"])


@router.get("/workspaces/{ws}/services/{name}/metrics")
def service_metrics(
    ws: WorkspaceName,
    name: str,
    ctx: Ctx,
    since: Annotated[
        str | None, Query(description="A duration back from now (15m) or an ISO time.")
    ] = None,
) -> dict[str, Any]:
    """Oldest first: requests/s, p50/p95/p99 ms, errors, 503, 504, in-flight, restarts per scrape."""
    with ctx.store.read() as s:
        if service_records.find(s, ws, name) is None:
            raise NotFound(f"service {name!r} not found in workspace {ws!r}")
    start = parse_since(since)
    rt = runtime(ctx)
    points = rt.scraper.points(ws, name, start.timestamp() if start else None)
    return {"intervalSeconds": rt.settings.metrics_scrape_s, "points": points}


@router.get("/metrics", response_class=PlainTextResponse)
def prometheus(ctx: Ctx) -> PlainTextResponse:
    """Every replica's /metrics with workspace, service, revision and replica labels."""
    rt = runtime(ctx)
    lines = [
        "# HELP modelport_telemetry_dropped_total Telemetry records a replica dropped (buffer full "
        "or workspace server unreachable), as last reported.",
        "# TYPE modelport_telemetry_dropped_total counter",
    ]
    for (ws, name, replica), n in sorted(rt.dropped.items()):
        lines.append(f'modelport_telemetry_dropped_total{{workspace="{ws}",service="{name}",'
                     f'replica="{replica}"}} {n}')  # fmt: skip
    text = rt.scraper.exposition() + "\n".join(lines) + "\n"
    return PlainTextResponse(text, media_type="text/plain; version=0.0.4; charset=utf-8")
