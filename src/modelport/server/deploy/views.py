"""Read side of the services API: the Service and Operation JSON, lists and filters."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from modelport.errors import NotFound
from modelport.server.store.base import iso
from modelport.server.store.services import Operation, Revision, RevisionModel, Service

if TYPE_CHECKING:
    from modelport.server.deploy.context import DeployContext


def operation_json(op: Operation) -> dict[str, Any]:
    return {
        "id": op.id,
        "kind": op.kind,
        "state": op.state,
        "serviceName": op.service_name,
        "targetRevision": op.target_revision,
        "step": op.step,
        "startTime": iso(op.start_time),
        "endTime": iso(op.end_time),
        "error": op.error,
    }


def service_json(
    service: Service, dctx: DeployContext, session: Session | None = None
) -> dict[str, Any]:
    """The Service document; never contains keys or the token secret."""
    rev: Revision | None = None
    if session is not None:
        number = service.current_revision or service.desired_revision
        rev = session.scalar(
            select(Revision).where(Revision.service_id == service.id, Revision.number == number)
        )
    config = dict(service.deployment_config or {})
    env = (rev.environment or {}) if rev is not None else {}
    return {
        "name": service.name,
        "computeType": service.compute_type,
        "state": service.state,
        "error": service.error,
        "scoringUri": service.scoring_uri,
        "swaggerUri": _swagger(service.scoring_uri),
        "port": service.port,
        "models": list(rev.models) if rev is not None else [],
        "tags": dict(service.tags or {}),
        "properties": dict(service.properties or {}),
        "description": service.description,
        "createdTime": iso(service.created_time),
        "updatedTime": iso(service.updated_time),
        "authEnabled": service.auth_mode == "key",
        "tokenAuthEnabled": service.auth_mode == "token",
        "sslEnabled": bool(config.get("sslEnabled", False)),
        # the serving revision's certificate (public; the SDK trusts it when self-signed)
        "sslCertificate": rev.tls_cert if rev is not None else None,
        "numReplicas": int(config.get("numReplicas") or 1),
        "deploymentConfig": config,
        "environment": {
            "name": env.get("name"),
            "version": env.get("version"),
            "key": rev.environment_key if rev is not None else None,
        },
        "revision": service.current_revision,
        "desiredRevision": service.desired_revision,
        "replicas": dctx.replicas(service),
        "operationId": service.operation_id,
    }


def _swagger(scoring_uri: str | None) -> str | None:
    if not scoring_uri:
        return None
    return scoring_uri.rsplit("/", 1)[0] + "/swagger.json"


def parse_labels(text: str | None) -> list[tuple[str, str | None]]:
    """``key,key2=value2`` → [(key, None), (key2, value2)] (ANDed, as for models)."""
    if not text:
        return []
    out: list[tuple[str, str | None]] = []
    for item in text.split(","):
        if not item:
            continue
        key, sep, value = item.partition("=")
        out.append((key, value if sep else None))
    return out


def page(
    session: Session,
    workspace: str,
    after: str | None,
    limit: int,
    *,
    compute_type: str | None,
    model_name: str | None,
    model_id: str | None,
    tags: list[tuple[str, str | None]],
    properties: list[tuple[str, str | None]],
) -> list[Service]:
    query = select(Service).where(Service.workspace == workspace).order_by(Service.name)
    if after is not None:
        query = query.where(Service.name > after)
    if compute_type:
        query = query.where(Service.compute_type.ilike(compute_type))
    if model_name or model_id:
        name, version = model_name, None
        if model_id:
            name, _, v = model_id.rpartition(":")
            version = int(v) if v.isdigit() else -1
        used = (
            select(Revision.service_id)
            .join(RevisionModel, RevisionModel.revision_id == Revision.id)
            .join(Service, Service.id == Revision.service_id)
            .where(
                RevisionModel.name == name,
                and_(Revision.number == Service.desired_revision)
                | (Revision.number == Service.current_revision),
            )
        )
        if version is not None:
            used = used.where(RevisionModel.version == version)
        query = query.where(Service.id.in_(used))
    rows = list(session.scalars(query))
    # Label filters in Python: a workspace holds few services, and JSON operators differ by backend.
    rows = [s for s in rows if _match(s.tags, tags) and _match(s.properties, properties)]
    return rows[:limit]


def _match(labels: dict[str, str] | None, wanted: list[tuple[str, str | None]]) -> bool:
    labels = labels or {}
    return all(k in labels and (v is None or labels[k] == v) for k, v in wanted)


def operation(session: Session, workspace: str, op_id: str) -> Operation:
    op = session.get(Operation, op_id)
    if op is None or op.workspace != workspace:
        raise NotFound(f"operation {op_id} not found in workspace {workspace}")
    return op


def operations(session: Session, workspace: str, name: str) -> list[Operation]:
    return list(
        session.scalars(
            select(Operation)
            .where(Operation.workspace == workspace, Operation.service_name == name)
            .order_by(Operation.start_time.desc())
            .limit(100)
        )
    )
