"""Read side of the services API: the Service and Operation JSON documents, label filters."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from modelport.server.deploy.driver import service_key
from modelport.server.store.base import iso
from modelport.server.store.services import Operation, Revision, Service
from modelport.targets.local import isolation

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
    service: Service, deploy: DeployContext, session: Session | None = None
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
        "replicas": deploy.replicas(service),
        # which user runs the entry script: the service's own (root server) or the server's
        "replicaUser": isolation.describe(service_key(service.workspace, service.name)),
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
