"""Compute targets: attach a Kubernetes cluster to a workspace, list, show, detach."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Response
from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from modelport.server.api.deps import Ctx, WorkspaceName
from modelport.server.api.schemas import FastJSON, Input, SafeStr
from modelport.server.deploy.context import deploy_context
from modelport.server.store import targets
from modelport.server.store.services import Service
from modelport.specs.fields import AKS, KUBERNETES

router = APIRouter(tags=["compute targets"])

Kubeconfig = Annotated[SafeStr, Field(min_length=1, max_length=targets.MAX_KUBECONFIG_BYTES)]


class TargetAttach(Input):
    name: Annotated[str, Field(max_length=64)]
    computeType: Literal["kubernetes"] = "kubernetes"
    kubeconfig: Kubeconfig
    context: Annotated[SafeStr, Field(max_length=255)] | None = None
    namespace: Annotated[str, Field(max_length=63)] | None = None
    imageRegistry: Annotated[SafeStr, Field(max_length=255)] | None = None


def _path(ws: str) -> str:
    return f"/workspaces/{ws}/computeTargets"


@router.post(_path("{ws}"), status_code=201)
def attach_target(ws: WorkspaceName, body: TargetAttach, ctx: Ctx) -> FastJSON:
    """Attach a cluster: the kubeconfig's text (stored encrypted, never returned)."""
    summary = targets.summarize_kubeconfig(body.kubeconfig, body.context)
    if body.namespace is not None:
        targets.check_namespace(body.namespace)
    encrypted = deploy_context(ctx).box.encrypt(body.kubeconfig)
    with ctx.store.write() as session:
        row = targets.attach(
            session,
            ws,
            body.name,
            kubeconfig_enc=encrypted,
            summary=summary,
            namespace=body.namespace,
            image_registry=body.imageRegistry,
        )
        return FastJSON(targets.document(row, ws), status_code=201)


@router.get(_path("{ws}"))
def list_targets(ws: WorkspaceName, ctx: Ctx) -> FastJSON:
    with ctx.store.read() as session:
        rows = targets.all_of(session, ws)
        return FastJSON({"value": [targets.document(r, ws) for r in rows], "next": None})


@router.get(_path("{ws}") + "/{name}")
def get_target(ws: WorkspaceName, name: str, ctx: Ctx) -> FastJSON:
    with ctx.store.read() as session:
        row = targets.get(session, ws, name)
        doc = targets.document(row, ws)
        doc["services"] = services_on(session, ws, name)
        return FastJSON(doc)


@router.delete(_path("{ws}") + "/{name}", status_code=204, response_class=Response)
def detach_target(ws: WorkspaceName, name: str, ctx: Ctx) -> Response:
    """Forget the cluster (refused while services run on it); nothing on the cluster changes."""
    with ctx.store.write() as session:
        targets.detach(session, ws, name, services_on(session, ws, name))
    return Response(status_code=204)


def services_on(session: Session, ws: str, name: str) -> list[str]:
    """Services of the workspace deployed to this target (by computeTargetName, or as the only one)."""
    only_one = len(targets.all_of(session, ws)) == 1
    rows = session.execute(
        select(Service.name, Service.deployment_config).where(
            Service.workspace == ws, Service.compute_type.in_((AKS, KUBERNETES))
        )
    ).all()
    return [
        service
        for service, config in rows
        if _target_of(config) == name or (_target_of(config) is None and only_one)
    ]


def _target_of(config: dict[str, Any] | None) -> str | None:
    value = (config or {}).get("computeTargetName")
    return value if isinstance(value, str) and value else None
