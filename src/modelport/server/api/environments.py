"""Environments: register versions, list (curated ones first), get, record a build's lock."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Response
from pydantic import BaseModel, Field

from modelport.environments.curated import all_curated, get_curated, is_curated
from modelport.environments.spec import EnvironmentSpec, from_azure_json, to_azure_json
from modelport.errors import NotFound, UserError
from modelport.server.api.deps import After, Ctx, Limit, WorkspaceName
from modelport.server.api.schemas import Input, Page, SafeStr
from modelport.server.security import envsecrets
from modelport.server.store import environments as store
from modelport.server.store import paging, workspaces
from modelport.server.store.base import iso

router = APIRouter(tags=["environments"])
CURATED, REGISTERED = 0, 1  # first item of a list cursor: which part of the listing it is in


class EnvironmentOut(BaseModel):
    id: str
    name: str
    version: str
    curated: bool
    environment: dict[str, Any]  # the v1 environment JSON
    lock: str | None
    createdTime: str | None


class LockIn(Input):
    lock: Annotated[SafeStr, Field(min_length=1, max_length=1_000_000)]


def _row_out(row: store.EnvironmentVersion) -> EnvironmentOut:
    return EnvironmentOut(
        id=f"{row.name}:{row.version}",
        name=row.name,
        version=str(row.version),
        curated=False,
        environment=envsecrets.mask(dict(row.spec)),  # secrets never leave the server
        lock=row.lock,
        createdTime=iso(row.created_time),
    )


def _curated_out(spec: EnvironmentSpec) -> EnvironmentOut:
    return EnvironmentOut(
        id=f"{spec.name}:{spec.version}",
        name=spec.name,
        version=str(spec.version),
        curated=True,
        environment=to_azure_json(spec),
        lock=None,
        createdTime=None,
    )


def _version(version: str) -> int | None:
    if version == "latest":
        return None
    if version.isascii() and version.isdigit() and 0 < len(version) <= 9 and int(version) > 0:
        return int(version)
    raise NotFound(
        f"environment version {version!r} not found: versions are positive integers or 'latest'"
    )


Version = Annotated[int | None, Depends(_version)]


@router.post("/workspaces/{ws}/environments", status_code=201, response_model=EnvironmentOut)
def register_environment(
    ws: WorkspaceName,
    ctx: Ctx,
    response: Response,
    body: Annotated[dict[str, Any], Body(description="The v1 environment JSON.")],
) -> EnvironmentOut:
    spec = from_azure_json(body)
    if is_curated(spec.name):
        raise UserError(
            f"environment {spec.name!r} is curated and read-only; clone it to change it"
        )
    with ctx.store.write() as session:
        wsrow = workspaces.get(session, ws)
        box = envsecrets.box_for(ctx.settings.home)
        row, created = store.register(session, wsrow.id, spec, box)
        if not created:
            response.status_code = 200  # identical to the latest version: that version
        return _row_out(row)


@router.get("/workspaces/{ws}/environments", response_model=Page[EnvironmentOut])
def list_environments(
    ws: WorkspaceName,
    ctx: Ctx,
    name: Annotated[SafeStr | None, Query(max_length=255)] = None,
    latest: bool = False,
    curated: bool = True,
    limit: Limit = 100,
    after: After = None,
) -> Page[EnvironmentOut]:
    """Curated environments first (by name), then registered ones by name, version descending."""
    key = paging.decode(after, (int, str, int)) if after else None
    value: list[EnvironmentOut] = []
    cursor_rows: list[tuple[int, str, int]] = []
    if curated and (key is None or key[0] == CURATED):
        for spec in all_curated():
            if name is not None and spec.name != name:
                continue
            if key is not None and spec.name.lower() <= key[1].lower():
                continue
            value.append(_curated_out(spec))
            cursor_rows.append((CURATED, spec.name, 1))
    with ctx.store.read() as session:
        wsrow = workspaces.get(session, ws)
        if len(value) <= limit:
            after_reg = (key[1], key[2]) if key is not None and key[0] == REGISTERED else None
            rows = store.page(session, wsrow.id, after_reg, limit + 1 - len(value), name, latest)
            value += [_row_out(r) for r in rows]
            cursor_rows += [(REGISTERED, r.name, r.version) for r in rows]
    more = len(value) > limit
    value, cursor_rows = value[:limit], cursor_rows[:limit]
    cursor = paging.encode(list(cursor_rows[-1])) if more and cursor_rows else None
    return Page[EnvironmentOut](value=value, next=cursor)


EnvPath = "/workspaces/{ws}/environments/{name}/versions/{version}"


@router.get(EnvPath, response_model=EnvironmentOut)
def get_environment(ws: WorkspaceName, name: str, version: Version, ctx: Ctx) -> EnvironmentOut:
    if is_curated(name):
        return _curated_out(get_curated(name, None if version is None else str(version)))
    with ctx.store.read() as session:
        wsrow = workspaces.get(session, ws)
        return _row_out(store.get(session, wsrow.id, name, version))


@router.put(EnvPath + "/lock", response_model=EnvironmentOut)
def set_environment_lock(
    ws: WorkspaceName, name: str, version: Version, body: LockIn, ctx: Ctx
) -> EnvironmentOut:
    """Record the locked requirements a build of this version used (curated: read-only, 400)."""
    if is_curated(name):
        raise UserError(f"environment {name!r} is curated and read-only")
    with ctx.store.write() as session:
        wsrow = workspaces.get(session, ws)
        row = store.get(session, wsrow.id, name, version)
        return _row_out(store.set_lock(session, wsrow.id, name, row.version, body.lock))
