"""Request telemetry: replicas report batches here; users read requests, traces and exceptions.

``ingest_router`` carries no workspace token: replicas authenticate with their service's
ingestion key (server/observe/ingest.py). ``router`` is behind the token like every user route.
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from modelport.errors import NotFound, UserError
from modelport.server.api.deps import Ctx, WorkspaceName
from modelport.server.context import ServerContext
from modelport.server.observe import ingest, modeldata
from modelport.server.observe import records as telemetry_records
from modelport.server.observe.runtime import runtime
from modelport.server.observe.since import parse_since
from modelport.server.store import services as service_records
from modelport.server.store import telemetry as telemetry_store

ingest_router = APIRouter(tags=["telemetry"], include_in_schema=True)
router = APIRouter(tags=["telemetry"])

KIND_OF = {"requests": "request", "traces": "trace", "exceptions": "exception"}


@ingest_router.post("/ingest/workspaces/{ws}/services/{name}", status_code=204)
async def ingest_batch(
    ws: str,
    name: str,
    request: Request,
    ctx: Ctx,
    authorization: Annotated[str | None, Header()] = None,
) -> None:
    """A replica's batch of telemetry and collected model data (bearer: the ingestion key)."""
    key = authorization[7:] if authorization and authorization.startswith("Bearer ") else None
    ingest.check_key(ctx.token, ws, name, key)
    try:
        batch = orjson.loads(await request.body())
    except orjson.JSONDecodeError as exc:
        raise UserError(f"the batch is not JSON: {exc}") from None
    if not isinstance(batch, dict):
        raise UserError("the batch must be a JSON object")
    await run_in_threadpool(_store_batch, ctx, ws, name, batch)


def _store_batch(ctx: ServerContext, ws: str, name: str, batch: dict[str, Any]) -> None:
    rt = runtime(ctx)
    records = telemetry_records.expand(batch)
    rows = telemetry_records.rows(ws, name, batch, records)
    if rows:
        with ctx.store.write() as s:
            telemetry_store.add(s, rows)
    if batch.get("data"):
        modeldata.write_batch(ctx.artifacts.root, ws, name, batch["data"])
    rt.dropped[(ws, name, str(batch.get("replica", "")))] = int(batch.get("dropped") or 0)
    if rt.exporter is not None and rows:
        rt.exporter.export(ws, name, batch, records)


@router.get("/workspaces/{ws}/services/{name}/telemetry")
def read_telemetry(
    ws: WorkspaceName,
    name: str,
    ctx: Ctx,
    kind: Annotated[
        list[str] | None, Query(description="requests, traces and/or exceptions (default: all).")
    ] = None,
    since: Annotated[
        str | None, Query(description="A duration back from now (1h) or an ISO time.")
    ] = None,
    failed: Annotated[bool, Query(description="Only requests that failed (status ≥ 400).")] = False,
    request_id: Annotated[str | None, Query(alias="requestId", max_length=255)] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
) -> dict[str, Any]:
    """Newest first: requests, traces and exceptions of a service (appInsightsEnabled)."""
    kinds = [KIND_OF.get(k, k) for k in (kind or list(KIND_OF))]
    unknown = [k for k in kinds if k not in telemetry_store.KINDS]
    if unknown:
        raise UserError(f"kind: {unknown[0]!r} is not one of requests, traces, exceptions")
    start = parse_since(since)
    with ctx.store.read() as s:
        if service_records.find(s, ws, name) is None:
            raise NotFound(f"service {name!r} not found in workspace {ws!r}")
        rows = telemetry_store.query(
            s, ws, name, kinds, since=start, failed=failed, request_id=request_id, limit=limit
        )
        items = [telemetry_store.as_json(r) for r in rows]
    dropped = {
        replica: n
        for (w, svc, replica), n in runtime(ctx).dropped.items()
        if (w, svc) == (ws, name)
    }
    return {"value": items, "droppedByReplica": dropped}


@router.get("/workspaces/{ws}/services/{name}/data", response_model=None)
def read_model_data(
    ws: WorkspaceName,
    name: str,
    ctx: Ctx,
    designation: Annotated[str, Query(max_length=255)] = "inputs",
    since: Annotated[
        str | None, Query(description="A duration back from now (1d) or an ISO time.")
    ] = None,
    model: Annotated[str | None, Query(max_length=255)] = None,
    join: Annotated[
        str | None, Query(description="Another designation joined by request id (predictions).")
    ] = None,
    format: Annotated[str, Query(pattern="^(json|csv)$")] = "json",
) -> dict[str, Any] | Response:
    """Rows ModelDataCollector collected (collect_model_data), oldest first, as JSON or CSV."""
    start = parse_since(since)
    with ctx.store.read() as s:
        if service_records.find(s, ws, name) is None:
            raise NotFound(f"service {name!r} not found in workspace {ws!r}")
    try:
        table = modeldata.read(ctx.artifacts.root, ws, name, designation, start, model)
        if join:
            other = modeldata.read(ctx.artifacts.root, ws, name, join, start, model)
            table = modeldata.join(table, other, f"{join}.")
    except ValueError as exc:  # a name that cannot be a path segment
        raise UserError(str(exc)) from None
    header, rows = table
    if format == "csv":
        import csv
        import io

        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows([header, *rows] if header else [])
        return Response(buf.getvalue(), media_type="text/csv")
    return {"columns": header, "rows": rows}
