"""Experiments and runs: create, status, metrics, files, child runs."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from modelport.errors import NotFound, UserError
from modelport.server.api.deps import After, Ctx, Limit, WorkspaceName
from modelport.server.api.schemas import FileEntry, Input, Key, LongText, MetricValue, Page, SafeStr
from modelport.server.paths import check_relative_path
from modelport.server.store import paging, runs, workspaces
from modelport.server.store.base import iso
from modelport.server.store.models import NAME_RULE

router = APIRouter(tags=["runs"])

RunIdText = Annotated[SafeStr, Field(max_length=300)]


class RunCreate(Input):
    parentRunId: RunIdText | None = None
    displayName: Annotated[SafeStr, Field(max_length=255)] | None = None


class RunOut(BaseModel):
    id: str
    experimentName: str
    parentRunId: str | None
    status: str
    displayName: str | None
    createdTime: str
    endTime: str | None
    error: str | None
    metrics: dict[str, Any] | None = None


class ExperimentOut(BaseModel):
    name: str
    createdTime: str


class MetricIn(Input):
    name: Key
    value: MetricValue


class StatusIn(Input):
    status: Literal["Completed", "Failed", "Canceled"]
    error: LongText | None = None


class FilesIn(Input):
    files: Annotated[list[FileEntry], Field(min_length=1, max_length=100_000)]


class FilesOut(BaseModel):
    value: list[FileEntry]


def _run_out(run: runs.Run, metrics: dict[str, Any] | None = None) -> RunOut:
    return RunOut(
        id=run.run_id,
        experimentName=run.experiment_name,
        parentRunId=run.parent_run_id,
        status=run.status,
        displayName=run.display_name,
        createdTime=iso(run.created_time) or "",
        endTime=iso(run.end_time),
        error=run.error,
        metrics=metrics,
    )


async def _experiment(experiment: str) -> str:
    if not NAME_RULE.fullmatch(experiment):
        raise UserError(f"invalid experiment name {experiment!r}")
    return experiment


async def _run_id(run_id: str) -> str:
    if len(run_id) > 300 or "\x00" in run_id or not run_id.isprintable():
        raise NotFound(f"run {run_id!r} not found in this workspace")
    return run_id


ExperimentName = Annotated[str, Depends(_experiment)]
RunId = Annotated[str, Depends(_run_id)]


@router.post(
    "/workspaces/{ws}/experiments/{experiment}/runs", status_code=201, response_model=RunOut
)
def create_run(ws: WorkspaceName, experiment: ExperimentName, body: RunCreate, ctx: Ctx) -> RunOut:
    with ctx.store.write() as session:
        wsrow = workspaces.get(session, ws)
        run = runs.create(session, wsrow.id, experiment, body.parentRunId, body.displayName)
        return _run_out(run)


@router.get("/workspaces/{ws}/experiments", response_model=Page[ExperimentOut])
def list_experiments(
    ws: WorkspaceName, ctx: Ctx, limit: Limit = 100, after: After = None
) -> Page[ExperimentOut]:
    key = paging.decode(after, (str,))[0] if after else None
    with ctx.store.read() as session:
        wsrow = workspaces.get(session, ws)
        rows = runs.page_experiments(session, wsrow.id, key, limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return Page[ExperimentOut](
        value=[ExperimentOut(name=e.name, createdTime=iso(e.created_time) or "") for e in rows],
        next=paging.encode([rows[-1].name]) if more else None,
    )


@router.get("/workspaces/{ws}/runs", response_model=Page[RunOut])
def list_runs(
    ws: WorkspaceName,
    ctx: Ctx,
    experiment: Annotated[SafeStr | None, Query(max_length=255)] = None,
    parentRunId: Annotated[SafeStr | None, Query(max_length=300)] = None,
    expand: Annotated[
        Literal["metrics"] | None, Query(description="`metrics`: add each run's metrics")
    ] = None,
    limit: Limit = 100,
    after: After = None,
) -> Page[RunOut]:
    key = paging.decode(after, (int,))[0] if after else None
    with ctx.store.read() as session:
        wsrow = workspaces.get(session, ws)
        rows = runs.page(
            session,
            wsrow.id,
            experiment=experiment,
            parent_run_id=parentRunId,
            after=key,
            limit=limit + 1,
        )
        more = len(rows) > limit
        rows = rows[:limit]
        metrics = runs.metrics(session, rows) if expand == "metrics" else {}
        value = [_run_out(r, metrics.get(r.run_id) if expand else None) for r in rows]
    return Page[RunOut](value=value, next=paging.encode([rows[-1].seq]) if more else None)


@router.get("/workspaces/{ws}/runs/{run_id}", response_model=RunOut)
def get_run(ws: WorkspaceName, run_id: RunId, ctx: Ctx) -> RunOut:
    with ctx.store.read() as session:
        wsrow = workspaces.get(session, ws)
        return _run_out(runs.get(session, wsrow.id, run_id))


@router.post("/workspaces/{ws}/runs/{run_id}/status", response_model=RunOut)
def set_status(ws: WorkspaceName, run_id: RunId, body: StatusIn, ctx: Ctx) -> RunOut:
    with ctx.store.write() as session:
        wsrow = workspaces.get(session, ws)
        run = runs.set_status(session, runs.get(session, wsrow.id, run_id), body.status, body.error)
        return _run_out(run)


@router.post("/workspaces/{ws}/runs/{run_id}/metrics", status_code=201, response_model=None)
def log_metric(ws: WorkspaceName, run_id: RunId, body: MetricIn, ctx: Ctx) -> dict[str, Any]:
    with ctx.store.write() as session:
        wsrow = workspaces.get(session, ws)
        runs.log_metric(session, runs.get(session, wsrow.id, run_id), body.name, body.value)
    return {"name": body.name, "value": body.value}


@router.get("/workspaces/{ws}/runs/{run_id}/metrics", response_model=dict[str, Any])
def get_metrics(ws: WorkspaceName, run_id: RunId, ctx: Ctx) -> dict[str, Any]:
    with ctx.store.read() as session:
        wsrow = workspaces.get(session, ws)
        run = runs.get(session, wsrow.id, run_id)
        return runs.metrics(session, [run])[run.run_id]


@router.post("/workspaces/{ws}/runs/{run_id}/files", status_code=201, response_model=FilesOut)
def add_files(ws: WorkspaceName, run_id: RunId, body: FilesIn, ctx: Ctx) -> FilesOut:
    seen: set[str] = set()
    for f in body.files:
        check_relative_path(f.path)
        if f.path in seen:
            raise UserError(f"file path {f.path!r} is listed twice")
        seen.add(f.path)
        stored = ctx.artifacts.size(f.sha256)
        if stored is None:
            raise UserError(f"file {f.path!r}: blob {f.sha256} is not uploaded; upload it first")
        if stored != f.size:
            raise UserError(
                f"file {f.path!r}: size {f.size} does not match the stored blob ({stored})"
            )
    with ctx.store.write() as session:
        wsrow = workspaces.get(session, ws)
        runs.add_files(
            session, runs.get(session, wsrow.id, run_id), [f.model_dump() for f in body.files]
        )
    return FilesOut(value=body.files)


@router.get("/workspaces/{ws}/runs/{run_id}/files", response_model=FilesOut)
def list_files(ws: WorkspaceName, run_id: RunId, ctx: Ctx) -> FilesOut:
    with ctx.store.read() as session:
        wsrow = workspaces.get(session, ws)
        found = runs.files(session, runs.get(session, wsrow.id, run_id))
    return FilesOut(value=[FileEntry(**f) for f in found])
