"""Services: deploy, list, show, update, reload, delete, logs, operations, keys and tokens.

Every write is one transaction that records the desired state and an operation (docs/deploy.md);
the reconciler (server/reconciler.py) does the work and is the only writer of service state.
"""

from __future__ import annotations

import functools
import socket
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from modelport.errors import NotFound, UserError
from modelport.server.api.deps import After, Ctx, Limit, WorkspaceName
from modelport.server.api.service_schemas import (
    RegenerateKeys,
    ServiceCreate,
    ServiceReload,
    ServiceUpdate,
)
from modelport.server.deploy import auth, records, revision_plan, views
from modelport.server.deploy.models import resolve
from modelport.server.store import paging, targets, workspaces
from modelport.server.store import services as service_store
from modelport.server.store.services import RELOAD, UPDATE, Service
from modelport.specs import validate_service_name

router = APIRouter(tags=["services"])


def _accepted(service: Service, op: Any, ctx: Ctx) -> JSONResponse:
    deploy = ctx.deploy
    deploy.wake()
    return JSONResponse(
        {"service": views.service_json(service, deploy), "operation": views.operation_json(op)},
        status_code=202,
        headers={"Operation-Location": f"operations/{op.id}"},
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@router.post("/workspaces/{ws}/services", status_code=202)
def create_service(ws: WorkspaceName, request: ServiceCreate, ctx: Ctx) -> JSONResponse:
    deploy = ctx.deploy
    body = revision_plan.check_keys(request.given(), revision_plan.CREATE_KEYS, "create service")
    name = validate_service_name(body.get("name"))
    config = revision_plan.deployment_config(body.get("deploymentConfig"))
    files = revision_plan.source_files(body.get("sourceSnapshot"))
    ic = revision_plan.inference_config(body.get("inferenceConfig"), files)
    _check_blobs(ctx, files)
    port = config.values().get("port")
    with ctx.store.read() as session:
        workspaces.get(session, ws)
        targets.check_deployable(session, ws, config)  # AKS/kubernetes: a cluster attached
        models = resolve(session, ws, _model_refs(body.get("models")))
    plan = revision_plan.plan_revision(
        models, ic, files, body.get("environment"), _registered(deploy, ws)
    )
    with ctx.store.write() as session:
        service, op = records.create(
            session, ws, name, plan, config, deploy.box,
            overwrite=bool(body.get("overwrite", False)),
            port=port,
            free_port=_free_port,
            tags=_labels(body.get("tags"), "tags") or dict(config.tags),
            properties=_labels(body.get("properties"), "properties") or dict(config.properties),
            description=_text(body.get("description")),
        )  # fmt: skip
        service_store.sync_usages(session, service)
    return _accepted(service, op, ctx)


@router.get("/workspaces/{ws}/services")
def list_services(
    ws: WorkspaceName,
    ctx: Ctx,
    computeType: str | None = None,
    modelName: str | None = None,
    modelId: str | None = None,
    tags: str | None = None,
    properties: str | None = None,
    limit: Limit = 100,
    after: After = None,
) -> dict[str, Any]:
    deploy = ctx.deploy
    key = paging.decode(after, (str,))[0] if after else None
    with ctx.store.read() as session:
        workspaces.get(session, ws)
        rows = service_store.page(
            session, ws, key, limit + 1,
            compute_type=computeType, model_name=modelName, model_id=modelId,
            tags=views.parse_labels(tags), properties=views.parse_labels(properties),
        )  # fmt: skip
        more = len(rows) > limit
        rows = rows[:limit]
        value = [views.service_json(s, deploy, session) for s in rows]
    return {"value": value, "next": paging.encode([rows[-1].name]) if more else None}


@router.get("/workspaces/{ws}/services/{name}")
def get_service(ws: WorkspaceName, name: str, ctx: Ctx) -> dict[str, Any]:
    with ctx.store.read() as session:
        return views.service_json(service_store.get(session, ws, name), ctx.deploy, session)


@router.patch("/workspaces/{ws}/services/{name}", status_code=202)
def update_service(ws: WorkspaceName, name: str, request: ServiceUpdate, ctx: Ctx) -> JSONResponse:
    return _change(ws, name, request.given(), ctx, UPDATE)


@router.post("/workspaces/{ws}/services/{name}/reload", status_code=202)
def reload_service(
    ws: WorkspaceName, name: str, ctx: Ctx, request: ServiceReload | None = None
) -> JSONResponse:
    given = request.given() if request is not None else {}
    body = revision_plan.check_keys(given, ("sourceSnapshot",), "reload")
    return _change(ws, name, body, ctx, RELOAD)


def _change(ws: str, name: str, body: dict[str, Any], ctx: Ctx, kind: str) -> JSONResponse:
    deploy = ctx.deploy
    body = revision_plan.check_keys(body, revision_plan.UPDATE_KEYS, "update service")
    if kind == UPDATE and not body:
        raise UserError("No parameters provided to update.")
    with ctx.store.read() as session:
        service = service_store.get(session, ws, name)
        base = service_store.revision(session, service, service.desired_revision)
        if base is None:
            raise NotFound(f"Service {name} has no revision to update.")
        change = revision_plan.plan_change(
            session, service, base, body, kind, deploy, _check_blobs_fn(ctx)
        )
    with ctx.store.write() as session:
        service = service_store.get(session, ws, name, lock=True)
        op = records.update(
            session, service, kind, change.plan, change.config, deploy.box,
            tags=_labels(body.get("tags"), "tags") if "tags" in body else None,
            properties=_labels(body.get("properties"), "properties"),
            description=_text(body.get("description")),
            port=change.port,
        )  # fmt: skip
        service_store.sync_usages(session, service)
    return _accepted(service, op, ctx)


@router.delete("/workspaces/{ws}/services/{name}", status_code=202)
def delete_service(ws: WorkspaceName, name: str, ctx: Ctx) -> JSONResponse:
    with ctx.store.write() as session:
        service = service_store.get(session, ws, name, lock=True)
        op = records.delete(session, service)
    ctx.deploy.wake()
    return JSONResponse({"operation": views.operation_json(op)}, status_code=202)


@router.get("/workspaces/{ws}/services/{name}/logs")
def service_logs(
    ws: WorkspaceName,
    name: str,
    ctx: Ctx,
    numLines: Annotated[int, Query(ge=1, le=100000)] = 5000,
) -> dict[str, str]:
    deploy = ctx.deploy
    with ctx.store.read() as session:
        service = service_store.get(session, ws, name)
    return {"content": deploy.logs(service, numLines)}


@router.get("/workspaces/{ws}/operations/{op_id}")
def get_operation(
    ws: WorkspaceName, op_id: str, ctx: Ctx, waitSeconds: Annotated[float, Query(ge=0, le=30)] = 0
) -> dict[str, Any]:
    if waitSeconds > 0:  # a long poll: answer once the operation ends (or the wait is over)
        ctx.deploy.wait_operation(ws, op_id, waitSeconds)
    with ctx.store.read() as session:
        return views.operation_json(service_store.operation(session, ws, op_id))


@router.get("/workspaces/{ws}/services/{name}/operations")
def list_operations(ws: WorkspaceName, name: str, ctx: Ctx) -> dict[str, Any]:
    with ctx.store.read() as session:
        return {"value": [views.operation_json(o) for o in service_store.operations(session, ws, name)],
                "next": None}  # fmt: skip


@router.post("/workspaces/{ws}/services/{name}/listKeys")
def list_keys(ws: WorkspaceName, name: str, ctx: Ctx) -> dict[str, Any]:
    with ctx.store.read() as session:
        return records.keys(service_store.get(session, ws, name), ctx.deploy.box)


@router.post("/workspaces/{ws}/services/{name}/regenerateKeys")
def regenerate_keys(
    ws: WorkspaceName, name: str, request: RegenerateKeys, ctx: Ctx
) -> dict[str, Any]:
    deploy = ctx.deploy
    body = revision_plan.check_keys(request.given(), ("keyType", "keyValue"), "regenerateKeys")
    with ctx.store.write() as session:
        service = service_store.get(session, ws, name, lock=True)
        service_store.check_idle(session, service)
        records.regenerate(service, deploy.box, body.get("keyType"), body.get("keyValue"))
        settings = records.auth_settings(service, deploy.box)
    # The row is the truth; the auth file follows it at once so running replicas switch keys
    # without a restart (the reconciler rewrites it too after a crash between the two).
    deploy.write_auth_file(ws, name, settings)
    with ctx.store.read() as session:
        return records.keys(service_store.get(session, ws, name), deploy.box)


@router.post("/workspaces/{ws}/services/{name}/token")
def get_token(ws: WorkspaceName, name: str, ctx: Ctx) -> dict[str, Any]:
    deploy = ctx.deploy
    with ctx.store.read() as session:
        service = service_store.get(session, ws, name)
        settings = records.auth_settings(service, deploy.box)
    if settings.mode != "token" or not settings.token_secret:
        raise UserError(f"Service {name} does not use token auth (tokenAuthEnabled is false).")
    return auth.issue_token(name, settings.token_secret)


def _registered(deploy: Any, ws: str) -> Any:
    return functools.partial(deploy.registered_environment, workspace=ws)


def _model_refs(value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise UserError("models must be a list of 'name:version' strings")
    return [str(v) if not isinstance(v, str) else v for v in value]


def _labels(value: Any, what: str) -> dict[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise UserError(f"{what} must be an object of strings")
    return dict(value)


def _text(value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise UserError("description must be a string")
    return value


def _check_blobs(ctx: Ctx, files: list[dict[str, Any]]) -> None:
    _check_blobs_fn(ctx)(files)


def _check_blobs_fn(ctx: Ctx) -> Any:
    from modelport.server.paths import check_relative_path, check_sha256

    def check(files: list[dict[str, Any]]) -> None:
        for f in files:
            check_relative_path(f["path"])
            check_sha256(f["sha256"])
            if ctx.artifacts.size(f["sha256"]) is None:
                raise UserError(
                    f"sourceSnapshot: blob of '{f['path']}' is not uploaded ({f['sha256']})"
                )

    return check
