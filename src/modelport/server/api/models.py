"""The model registry: register, list with filters, get, update, delete."""

from __future__ import annotations

import getpass
import posixpath
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from pydantic import Field

from modelport.errors import NotFound, UserError
from modelport.server.api.deps import After, Ctx, Limit, WorkspaceName
from modelport.server.api.schemas import (
    FastJSON,
    FileEntry,
    Input,
    Key,
    Label,
    Labels,
    LongText,
    Page,
    ResourceConfiguration,
    SafeStr,
    ShortText,
)
from modelport.server.context import ServerContext
from modelport.server.paths import check_relative_path, check_tree
from modelport.server.store import models, paging, runs, workspaces
from modelport.server.store.base import iso

router = APIRouter(tags=["models"])


def _os_user() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # a container user without a passwd entry
        return None


_SERVER_USER = _os_user()


class ModelCreate(Input):
    name: str
    files: Annotated[list[FileEntry], Field(max_length=100_000)] | None = None
    runId: Annotated[SafeStr, Field(max_length=300)] | None = None
    assetPath: Annotated[SafeStr, Field(max_length=1024)] | None = None
    description: LongText | None = None
    tags: Labels = {}
    properties: Labels = {}
    framework: Label | None = None
    frameworkVersion: Label | None = None
    modelRoot: ShortText | None = None
    unpack: bool = False
    mimeType: Label | None = None
    createdBy: Label | None = None
    resourceConfiguration: ResourceConfiguration | None = None


class ModelUpdate(Input):
    tags: Labels | None = None
    description: LongText | None = None
    addTags: Labels = {}
    removeTags: Annotated[list[Key], Field(max_length=1000)] = []
    addProperties: Labels = {}


class FileOut(Input):
    path: str
    sha256: str
    size: int


class ModelOut(Input):
    id: str
    name: str
    version: int
    description: str | None
    tags: dict[str, str]
    properties: dict[str, str]
    framework: str | None
    frameworkVersion: str | None
    createdTime: str
    createdBy: str | None
    mimeType: str
    unpack: bool
    url: str
    experimentName: str | None
    runId: str | None
    modelRoot: str
    files: list[FileOut]
    resourceConfiguration: dict[str, Any] | None


def model_json(m: Any) -> dict[str, Any]:
    """The Model document (the shape of ``ModelOut``) of a ModelVersion or a listed row."""
    model_id = f"{m.name}:{m.version}"
    return {
        "id": model_id,
        "name": m.name,
        "version": m.version,
        "description": m.description,
        "tags": m.tags,
        "properties": m.properties,
        "framework": m.framework,
        "frameworkVersion": m.framework_version,
        "createdTime": iso(m.created_time),
        "createdBy": m.created_by,
        "mimeType": m.mime_type,
        "unpack": m.unpack,
        "url": f"aml://asset/{model_id}",
        "experimentName": m.experiment_name,
        "runId": m.run_id,
        "modelRoot": m.model_root,
        "files": m.files,
        "resourceConfiguration": m.resource_configuration,
    }


def _version(version: str) -> int | None:
    """``latest`` → None, else a positive integer (404 for anything that cannot be a version)."""
    if version == "latest":
        return None
    if version.isascii() and version.isdigit() and 0 < len(version) <= 9 and int(version) > 0:
        return int(version)
    raise NotFound(
        f"model version {version!r} not found: versions are positive integers or 'latest'"
    )


Version = Annotated[int | None, Depends(_version)]


async def _model_name(name: str) -> str:
    if not models.NAME_RULE.fullmatch(name):
        raise NotFound(f"model {name!r} not found in this workspace")
    return name


ModelName = Annotated[str, Depends(_model_name)]


def _root_of(files: list[FileEntry], root: str | None) -> str:
    """The registered root entry: every path is the root itself or lies under it."""
    if root is None:
        tops = sorted({f.path.split("/", 1)[0] for f in files})
        if len(tops) != 1:
            raise UserError(
                "files must share one root file or folder (the registered entry); found "
                + ", ".join(repr(t) for t in tops[:5])
            )
        root = tops[0]
    check_relative_path(root)
    for f in files:
        if not (f.path == root or f.path.startswith(root + "/")):
            raise UserError(f"file path {f.path!r} is not under the model root {root!r}")
    if len(files) > 1 and any(f.path == root for f in files):
        raise UserError(f"model root {root!r} cannot be both a file and a folder")
    return root


def _checked_files(ctx: ServerContext, body: ModelCreate) -> tuple[list[dict[str, Any]], str]:
    files = body.files or []
    if not files:
        raise UserError("files: at least one file is needed")
    seen: set[str] = set()
    for f in files:
        check_relative_path(f.path)
        if f.path in seen:
            raise UserError(f"file path {f.path!r} is listed twice")
        seen.add(f.path)
    check_tree(list(seen))  # every file can be laid out on disk at once
    root = _root_of(files, body.modelRoot)
    for f in files:
        stored = ctx.artifacts.size(f.sha256)
        if stored is None:
            raise UserError(f"file {f.path!r}: blob {f.sha256} is not uploaded; upload it first")
        if stored != f.size:
            raise UserError(
                f"file {f.path!r}: size {f.size} does not match the stored blob ({stored})"
            )
    return [f.model_dump() for f in files], root


def _from_run(
    session: Any, workspace_id: int, run_id: str, asset_path: str
) -> tuple[list[dict[str, Any]], str, runs.Run]:
    run = runs.get(session, workspace_id, run_id)
    asset = asset_path.strip("/")
    check_relative_path(asset)
    found = runs.files_under(session, run, asset)
    parent = posixpath.dirname(asset)
    cut = len(parent) + 1 if parent else 0
    check_tree([f["path"] for f in found])
    return [{**f, "path": f["path"][cut:]} for f in found], posixpath.basename(asset), run


@router.post("/workspaces/{ws}/models", status_code=201, response_model=ModelOut)
def register_model(ws: WorkspaceName, body: ModelCreate, ctx: Ctx) -> FastJSON:
    models.check_name(body.name)
    models.check_framework(body.framework, body.frameworkVersion)
    if body.files is not None and body.runId is not None:
        raise UserError("give either files or runId (with assetPath), not both")
    if body.files is None and body.runId is None:
        raise UserError("files: give the model's files, or runId and assetPath of a run's output")
    files: list[dict[str, Any]] = []
    root = ""
    if body.files is not None:
        files, root = _checked_files(ctx, body)  # outside the write lock: touches the disk only
    with ctx.store.write() as session:
        wsrow = workspaces.get(session, ws)
        experiment = None
        if body.runId is not None:
            files, root, run = _from_run(session, wsrow.id, body.runId, body.assetPath or body.name)
            experiment = run.experiment_name
        model = models.register(
            session,
            wsrow.id,
            models.NewModel(
                name=body.name,
                files=files,
                model_root=root,
                description=body.description,
                tags=body.tags,
                properties=body.properties,
                framework=body.framework,
                framework_version=body.frameworkVersion,
                created_by=body.createdBy or _SERVER_USER,
                mime_type=body.mimeType or "application/octet-stream",
                unpack=body.unpack,
                experiment_name=experiment,
                run_id=body.runId,
                resource_configuration=(
                    body.resourceConfiguration.model_dump(exclude_none=True)
                    if body.resourceConfiguration
                    else None
                ),
            ),
        )
        return FastJSON(model_json(model), status_code=201)


def _pairs(text: str | None, what: str) -> list[tuple[str, str | None]]:
    """``key,key2=value`` → [(key, None), (key2, value)]."""
    items: list[tuple[str, str | None]] = []
    for item in (text or "").split(","):
        if not item:
            continue
        key, eq, value = item.partition("=")
        if not key:
            raise UserError(f"{what}: {item!r} has no key (use key or key=value)")
        items.append((key, value if eq else None))
    return items


FilterText = Annotated[SafeStr | None, Query(max_length=4096)]


@router.get("/workspaces/{ws}/models", response_model=Page[ModelOut])
def list_models(
    ws: WorkspaceName,
    ctx: Ctx,
    name: FilterText = None,
    tags: FilterText = None,
    properties: FilterText = None,
    framework: FilterText = None,
    runId: FilterText = None,
    latest: bool = False,
    limit: Limit = 100,
    after: After = None,
) -> FastJSON:
    flt = models.ModelFilter(
        name=name,
        tags=_pairs(tags, "tags"),
        properties=_pairs(properties, "properties"),
        framework=framework,
        run_id=runId,
        latest=latest,
    )
    key = paging.decode(after, (str, int)) if after else None
    with ctx.store.read() as session:
        wsrow = workspaces.get(session, ws)
        rows = models.page(session, wsrow.id, flt, key, limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]
        value = [model_json(m) for m in rows]
    last = rows[-1] if rows else None
    cursor = paging.encode([last.name, last.version]) if more and last else None
    return FastJSON({"value": value, "next": cursor})


ModelPath = "/workspaces/{ws}/models/{name}/versions/{version}"


@router.get(ModelPath, response_model=ModelOut)
def get_model(ws: WorkspaceName, name: ModelName, version: Version, ctx: Ctx) -> FastJSON:
    with ctx.store.read() as session:
        wsrow = workspaces.get(session, ws)
        return FastJSON(model_json(models.get(session, wsrow.id, name, version)))


@router.patch(ModelPath, response_model=ModelOut)
def update_model(
    ws: WorkspaceName, name: ModelName, version: Version, body: ModelUpdate, ctx: Ctx
) -> FastJSON:
    changes = models.ModelChanges(
        tags=body.tags,
        description=body.description,
        set_description="description" in body.model_fields_set,
        add_tags=body.addTags,
        remove_tags=body.removeTags,
        add_properties=body.addProperties,
    )
    with ctx.store.write() as session:
        wsrow = workspaces.get(session, ws)
        return FastJSON(model_json(models.update(session, wsrow.id, name, version, changes)))


@router.delete(ModelPath, status_code=204, response_class=Response)
def delete_model(ws: WorkspaceName, name: ModelName, version: Version, ctx: Ctx) -> Response:
    with ctx.store.write() as session:
        wsrow = workspaces.get(session, ws)
        models.remove(session, wsrow.id, name, version)
    return Response(status_code=204)
