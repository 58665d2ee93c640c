"""The services API's writes: each one a single transaction that records the desired state and an
operation for the reconciler, after checking that no other operation runs on the service."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from modelport.errors import Conflict, NotFound, UserError
from modelport.server.deploy import auth, tls
from modelport.server.deploy.crypto import SecretBox
from modelport.server.deploy.requests import RevisionPlan, auth_mode, stored_config
from modelport.server.store.base import utcnow
from modelport.server.store.services import (
    DELETE,
    DELETING,
    RUNNING,
    SUCCEEDED,
    TRANSITIONING,
    Operation,
    Revision,
    RevisionModel,
    Service,
)
from modelport.specs import DeploymentConfig


def find(session: Session, workspace: str, name: str, *, lock: bool = False) -> Service | None:
    query = select(Service).where(Service.workspace == workspace, Service.name == name)
    if lock:
        query = query.with_for_update()
    return session.scalar(query)


def get(session: Session, workspace: str, name: str, *, lock: bool = False) -> Service:
    service = find(session, workspace, name, lock=lock)
    if service is None:
        raise NotFound(f"No service with name {name} found in workspace {workspace}.")
    return service


def running_operation(session: Session, service: Service) -> Operation | None:
    return session.scalar(
        select(Operation).where(
            Operation.workspace == service.workspace,
            Operation.service_name == service.name,
            Operation.state == RUNNING,
        )
    )


def check_idle(session: Session, service: Service) -> None:
    """409 while another operation runs on this service (reference spec 2.2)."""
    op = running_operation(session, service)
    if op is not None:
        raise Conflict(
            f"Conflict: operation {op.id} ({op.kind}) is in progress on service {service.name}; "
            "wait for it to finish (GET operations/{id}) and retry."
        )


def check_port_free(session: Session, port: int | None, service: Service | None) -> None:
    """409 when another modelport service holds ``port`` (any workspace): refused up front,
    naming the service, instead of a PortInUse failure naming a pid after the deploy started."""
    if port is None:
        return
    query = select(Service.workspace, Service.name).where(Service.port == port)
    if service is not None:
        query = query.where(Service.id != service.id)
    holder = session.execute(query).first()
    if holder is not None:
        raise Conflict(
            f"port {port} is already used by service {holder.name} in workspace "
            f"{holder.workspace}; choose another port, or leave port unset to get a free one"
        )


def revision(session: Session, service: Service, number: int | None) -> Revision | None:
    if number is None:
        return None
    return session.scalar(
        select(Revision).where(Revision.service_id == service.id, Revision.number == number)
    )


def _new_operation(service: Service, kind: str, target: int | None) -> Operation:
    op = Operation(
        id=str(uuid.uuid4()),
        workspace=service.workspace,
        service_name=service.name,
        kind=kind,
        state=RUNNING,
        target_revision=target,
        start_time=utcnow(),
    )
    service.operation_id = op.id
    return op


def _add_revision(
    session: Session,
    service: Service,
    number: int,
    plan: RevisionPlan,
    config: DeploymentConfig,
    material: tls.TlsMaterial | None,
) -> Revision:
    rev = Revision(
        service_id=service.id,
        number=number,
        models=[m.id for m in plan.models],
        inference_config=plan.inference_config,
        source_files=plan.source_files,
        environment=plan.environment,
        deployment_config=_stored(config, material),
        no_code=plan.no_code,
        tls_cert=None if material is None else material.cert_pem,
        tls_key_enc=None if material is None else material.key_enc,
        created_time=utcnow(),
    )
    session.add(rev)
    session.flush()
    for m in plan.models:
        session.add(
            RevisionModel(
                revision_id=rev.id, workspace=service.workspace, name=m.name, version=m.version
            )
        )
    return rev


def _stored(config: DeploymentConfig, material: tls.TlsMaterial | None) -> dict[str, Any]:
    return tls.stored_config(stored_config(config), material)


def _tls(
    session: Session, service: Service | None, config: DeploymentConfig, box: SecretBox
) -> tls.TlsMaterial | None:
    """TLS material of the next revision (the current desired one supplies what is not sent)."""
    previous = None if service is None else revision(session, service, service.desired_revision)
    return tls.resolve(config, previous, box)


def apply_auth(service: Service, config: DeploymentConfig, box: SecretBox) -> None:
    """Set the auth mode; keep existing keys unless the config gives new ones; make missing ones."""
    values = config.values()
    service.auth_mode = auth_mode(config)
    if service.auth_mode == "key":
        for column, given in (
            ("primary_key_enc", values.get("primary_key")),
            ("secondary_key_enc", values.get("secondary_key")),
        ):
            if given is not None:
                what = "keys." + ("primaryKey" if column.startswith("primary") else "secondaryKey")
                setattr(service, column, box.encrypt(auth.check_key(given, what)))
            elif getattr(service, column) is None:
                setattr(service, column, box.encrypt(auth.new_key()))
    if service.auth_mode == "token" and service.token_secret_enc is None:
        service.token_secret_enc = box.encrypt(auth.new_token_secret())


def create(
    session: Session,
    workspace: str,
    name: str,
    plan: RevisionPlan,
    config: DeploymentConfig,
    box: SecretBox,
    *,
    overwrite: bool,
    port: int | None,
    free_port: Callable[[], int],
    tags: dict[str, str],
    properties: dict[str, str],
    description: str | None,
) -> tuple[Service, Operation]:
    service = find(session, workspace, name, lock=True)
    if service is not None and not overwrite:
        raise Conflict(
            f"Service {name} already exists in workspace {workspace}; "
            "use overwrite=True (--overwrite) to replace it."
        )
    check_port_free(session, port, service)
    material = _tls(session, service, config, box)
    now = utcnow()
    if service is None:
        service = Service(
            workspace=workspace,
            name=name,
            compute_type=config.compute_type,
            state=TRANSITIONING,
            desired_revision=1,
            # picked now and kept: every revision of the service shares it (SO_REUSEPORT)
            port=port if port is not None else free_port(),
            tags=tags,
            properties=properties,
            description=description,
            created_time=now,
            state_since=now,
        )
        session.add(service)
        session.flush()
        number = 1
    else:
        check_idle(session, service)
        if service.state == DELETING:
            raise Conflict(f"Service {name} is being deleted.")
        if service.compute_type != config.compute_type:
            raise UserError(
                f"Service {name} is a {service.compute_type} service; overwrite cannot change "
                f"computeType to {config.compute_type}. Delete it first."
            )
        number = _next_number(session, service)
        service.desired_revision = number
        service.tags, service.properties, service.description = tags, properties, description
        # the new operation's state, not the replaced deployment's (Failed, Healthy)
        service.state, service.state_since = TRANSITIONING, now
        if port is not None:
            service.port = port
    service.deployment_config = _stored(config, material)
    service.updated_time = now
    apply_auth(service, config, box)
    _add_revision(session, service, number, plan, config, material)
    op = _new_operation(service, "Deploy", number)
    session.add(op)
    session.flush()
    return service, op


def _next_number(session: Session, service: Service) -> int:
    numbers = session.scalars(select(Revision.number).where(Revision.service_id == service.id))
    return int(max([0, *numbers])) + 1


def update(
    session: Session,
    service: Service,
    kind: str,
    plan: RevisionPlan | None,
    config: DeploymentConfig,
    box: SecretBox,
    *,
    tags: dict[str, str] | None,
    properties: dict[str, str] | None,
    description: str | None,
    port: int | None,
) -> Operation:
    """Record an Update or Reload; with no new revision (metadata only) it succeeds at once."""
    check_idle(session, service)
    if service.state == DELETING:
        raise Conflict(f"Service {service.name} is being deleted.")
    now = utcnow()
    if tags is not None:
        service.tags = tags
    if properties is not None:
        service.properties = {**service.properties, **properties}
    if description is not None:
        service.description = description
    service.updated_time = now
    if plan is None:
        op = _new_operation(service, kind, None)
        op.state, op.end_time = SUCCEEDED, now
        session.add(op)
        return op
    check_port_free(session, port, service)
    material = _tls(session, service, config, box)
    number = _next_number(session, service)
    service.desired_revision = number
    service.deployment_config = _stored(config, material)
    if port is not None:
        service.port = port
    apply_auth(service, config, box)
    _add_revision(session, service, number, plan, config, material)
    service.state, service.state_since = TRANSITIONING, now
    op = _new_operation(service, kind, number)
    session.add(op)
    session.flush()
    return op


def delete(session: Session, service: Service) -> Operation:
    check_idle(session, service)
    service.state, service.state_since = DELETING, utcnow()
    op = _new_operation(service, DELETE, None)
    session.add(op)
    session.flush()
    return op


def keys(service: Service, box: SecretBox) -> dict[str, Any]:
    if service.auth_mode != "key":
        raise UserError(f"Service {service.name} does not use key auth (authEnabled is false).")
    return {
        "primaryKey": box.decrypt(service.primary_key_enc or ""),
        "secondaryKey": box.decrypt(service.secondary_key_enc or ""),
    }


def regenerate(service: Service, box: SecretBox, key_type: Any, key_value: Any) -> None:
    if service.auth_mode != "key":
        raise UserError(f"Service {service.name} does not use key auth (authEnabled is false).")
    kind = str(key_type or "").capitalize()
    if kind not in ("Primary", "Secondary"):
        raise UserError("keyType must be 'Primary' or 'Secondary'")
    value = auth.new_key() if key_value is None else auth.check_key(key_value, "keyValue")
    column = "primary_key_enc" if kind == "Primary" else "secondary_key_enc"
    setattr(service, column, box.encrypt(value))
    service.updated_time = utcnow()


def auth_settings(service: Service, box: SecretBox) -> auth.AuthSettings:
    def plain(value: str | None) -> str | None:
        return None if value is None else box.decrypt(value)

    return auth.AuthSettings(
        mode=service.auth_mode,
        primary_key=plain(service.primary_key_enc),
        secondary_key=plain(service.secondary_key_enc),
        token_secret=plain(service.token_secret_enc),
    )


def model_users(session: Session, workspace: str, name: str, version: int) -> list[str]:
    """Names of services whose desired or serving revision uses this model."""
    rows = session.execute(
        select(Service.name, Service.desired_revision, Service.current_revision, Revision.number)
        .join(Revision, Revision.service_id == Service.id)
        .join(RevisionModel, RevisionModel.revision_id == Revision.id)
        .where(
            RevisionModel.workspace == workspace,
            RevisionModel.name == name,
            RevisionModel.version == version,
        )
    )
    return sorted({r.name for r in rows if r.number in (r.desired_revision, r.current_revision)})


def sync_usages(session: Session, service: Service) -> None:
    """Record in the registry which models this service's desired and serving revisions use."""
    from modelport.server.store import models as model_store
    from modelport.server.store import usages, workspaces

    ws = workspaces.get(session, service.workspace)
    usages.drop(session, "service", service.name, ws.id)
    numbers = {n for n in (service.desired_revision, service.current_revision) if n is not None}
    refs = set()
    for number in numbers:
        rev = revision(session, service, number)
        if rev is not None:
            refs.update(rev.models)
    for ref in sorted(refs):
        name, _, version = ref.rpartition(":")
        usages.add(
            session, model_store.get(session, ws.id, name, int(version)), "service", service.name
        )


def forget_usages(session: Session, workspace: str, name: str) -> None:
    from modelport.server.store import usages, workspaces

    ws = workspaces.get(session, workspace)
    usages.drop(session, "service", name, ws.id)
