"""Workspaces: create, list, show, delete."""

from __future__ import annotations

from fastapi import APIRouter, Response

from modelport.server.api.deps import After, Ctx, Limit, WorkspaceName
from modelport.server.api.schemas import Input, LongText, Page
from modelport.server.store import paging, workspaces
from modelport.server.store.base import iso

router = APIRouter(tags=["workspaces"])


class WorkspaceCreate(Input):
    name: str
    description: LongText | None = None


class WorkspaceOut(Input):
    id: str
    name: str
    description: str | None
    createdTime: str


def _out(ws: workspaces.Workspace) -> WorkspaceOut:
    return WorkspaceOut(
        id=ws.uid, name=ws.name, description=ws.description, createdTime=iso(ws.created_time) or ""
    )


@router.post("/workspaces", status_code=201, response_model=WorkspaceOut)
def create_workspace(body: WorkspaceCreate, ctx: Ctx) -> WorkspaceOut:
    workspaces.check_name(body.name)
    with ctx.store.write() as session:
        return _out(workspaces.create(session, body.name, body.description))


@router.get("/workspaces", response_model=Page[WorkspaceOut])
def list_workspaces(ctx: Ctx, limit: Limit = 100, after: After = None) -> Page[WorkspaceOut]:
    key = paging.decode(after, (str,))[0] if after else None
    with ctx.store.read() as session:
        rows = workspaces.page(session, key, limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return Page[WorkspaceOut](
        value=[_out(w) for w in rows], next=paging.encode([rows[-1].name]) if more else None
    )


@router.get("/workspaces/{ws}", response_model=WorkspaceOut)
def get_workspace(ws: WorkspaceName, ctx: Ctx) -> WorkspaceOut:
    with ctx.store.read() as session:
        return _out(workspaces.get(session, ws))


@router.delete("/workspaces/{ws}", status_code=204, response_class=Response)
def delete_workspace(ws: WorkspaceName, ctx: Ctx) -> Response:
    with ctx.store.write() as session:
        workspaces.remove(session, ws)
    return Response(status_code=204)
