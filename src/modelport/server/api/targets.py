"""Compute targets: attach a Kubernetes cluster to a workspace, list, show, detach."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Response
from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from modelport.errors import NotFound, UserError
from modelport.server.api.deps import Ctx, WorkspaceName
from modelport.server.api.schemas import FastJSON, Input, SafeStr
from modelport.server.crypto import SecretBox
from modelport.server.deploy import auth, records
from modelport.server.store import targets
from modelport.server.store.services import Service
from modelport.specs import parse_deployment_config, validate_service_name
from modelport.specs.deployment import DeploymentConfig
from modelport.specs.fields import AKS, KUBERNETES, SCHEMA_OF
from modelport.targets.kubernetes.manifests import KubeService, render, to_dicts
from modelport.targets.kubernetes.plan import Placement, kube_service

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
    encrypted = _box(ctx).encrypt(body.kubeconfig)
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


def _box(ctx: Ctx) -> SecretBox:
    return SecretBox.for_home(Path(ctx.settings.home))


# -- manifests for GitOps: an existing service (export) or a config about to be deployed --------


class ManifestsRequest(Input):
    name: str
    deploymentConfig: dict[str, Any]


def _placement(session: Session, ws: str, config: DeploymentConfig) -> tuple[Placement, list[str]]:
    wanted = config.compute_target_name if SCHEMA_OF[config.compute_type] == AKS else None
    try:
        row = targets.for_deployment(session, ws, wanted)
    except UserError:
        if wanted:
            raise
        note = (
            "no Kubernetes target is attached to this workspace: namespace 'default' and images "
            "from localhost/ (attach one with `modelport target attach kubernetes`)"
        )
        return Placement(), [note]
    return Placement(row.name, row.namespace, row.image_registry), []


def _manifests(ks: KubeService, notes: list[str], *, with_secret: bool = True) -> FastJSON:
    objects = [o for o in to_dicts(render(ks)) if with_secret or o["kind"] != "Secret"]
    notes = [*notes, f"image {ks.image}: build it with `modelport model package --build`, push it"]
    return FastJSON({"objects": objects, "notes": notes})


@router.get("/workspaces/{ws}/services/{name}/kubernetes")
def export_service(ws: WorkspaceName, name: str, ctx: Ctx) -> FastJSON:
    """The Kubernetes objects of a service's serving revision (local and ACI services too)."""
    with ctx.store.read() as session:
        service = session.scalar(
            select(Service).where(Service.workspace == ws, Service.name == name)
        )
        if service is None:
            raise NotFound(f"No service with name {name} found in workspace {ws}.")
        config = parse_deployment_config(service.deployment_config or {}, "deploymentConfig")
        placement, notes = _placement(session, ws, config)
        settings = records.auth_settings(service, _box(ctx))
        revision = service.current_revision or service.desired_revision
    if settings.mode == "token":
        notes.append(
            "the Secret holds the token signing secret: keep it out of git (sealed or external "
            "secrets)"
        )
    ks = kube_service(ws, name, revision, config, placement, settings.auth_file_document(name))
    return _manifests(ks, notes)


@router.post("/workspaces/{ws}/kubernetes/manifests")
def render_manifests(ws: WorkspaceName, body: ManifestsRequest, ctx: Ctx) -> FastJSON:
    """What deploying ``deploymentConfig`` as ``name`` would apply (``model deploy --dry-run``)."""
    validate_service_name(body.name)
    config = parse_deployment_config(body.deploymentConfig, "deploymentConfig")
    with ctx.store.read() as session:
        placement, notes = _placement(session, ws, config)
    document = None
    if config.auth_enabled or config.token_auth_enabled:
        given = [k for k in (config.primary_key, config.secondary_key) if k]
        if config.auth_enabled and given:
            document = {"mode": "key", "keyHashes": [auth.key_hash(k) for k in given]}
        else:
            notes.append(
                f"the Secret {body.name}-auth (key hashes or token secret) is made at deploy "
                "time: export the service after deploying to get it"
            )
    wants_auth = bool(config.auth_enabled or config.token_auth_enabled)
    # without the keys the Secret cannot be written yet; the pods keep its mount regardless
    ks = kube_service(ws, body.name, 1, config, placement, document or ({} if wants_auth else None))
    return _manifests(ks, notes, with_secret=document is not None)
