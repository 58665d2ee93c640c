"""Deployments in the store: services, their revisions and the operations that change them, and
the queries on them (the deploy code and the API read and write through these).

The services row holds the desired state (``desired_revision``) and the observed one (``state``,
``current_revision``); only the reconciler writes the observed columns. Service secrets (keys,
token signing secret) are stored encrypted with the server's ``secret.key`` (server/crypto.py).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    and_,
    func,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from modelport.errors import Conflict, NotFound
from modelport.server import guards
from modelport.server.store import models as model_store
from modelport.server.store import usages, workspaces
from modelport.server.store.base import Base, Json, UTCDateTime, utcnow
from modelport.server.store.workspaces import Workspace

# service states (reference spec 2.2) and operation states/kinds (docs/deploy.md)
TRANSITIONING, HEALTHY, UNHEALTHY = "Transitioning", "Healthy", "Unhealthy"
UNSCHEDULABLE, FAILED, DELETING = "Unschedulable", "Failed", "Deleting"
RUNNING, SUCCEEDED = "Running", "Succeeded"
DEPLOY, UPDATE, RELOAD, DELETE = "Deploy", "Update", "Reload", "Delete"

# revision statuses, in the order a revision goes through them
REV_PENDING, REV_PREPARED, REV_STARTING, REV_READY = "Pending", "Prepared", "Starting", "Ready"
REV_FAILED, REV_RETIRED = "Failed", "Retired"


class Service(Base):
    __tablename__ = "services"
    __table_args__ = (UniqueConstraint("workspace", "name", name="uq_services_workspace_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    workspace: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(64))
    compute_type: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(32), default=TRANSITIONING)
    error: Mapped[dict[str, Any] | None] = mapped_column(Json, nullable=True)
    # the revision the user asked for, and the one whose replicas serve now
    desired_revision: Mapped[int] = mapped_column(Integer, default=1)
    current_revision: Mapped[int | None] = mapped_column(Integer, nullable=True)
    port: Mapped[int | None] = mapped_column(Integer, nullable=True)
    scoring_uri: Mapped[str | None] = mapped_column(String(256), nullable=True)
    tags: Mapped[dict[str, str]] = mapped_column(Json, default=dict)
    properties: Mapped[dict[str, str]] = mapped_column(Json, default=dict)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    # deployment configuration of the desired revision, keys removed (they live encrypted below)
    deployment_config: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    auth_mode: Mapped[str] = mapped_column(String(8), default="none")  # none | key | token
    primary_key_enc: Mapped[str | None] = mapped_column(Text, nullable=True)
    secondary_key_enc: Mapped[str | None] = mapped_column(Text, nullable=True)
    token_secret_enc: Mapped[str | None] = mapped_column(Text, nullable=True)
    operation_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # set when a user write needs the reconciler (a new revision, a delete); cleared when done
    created_time: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_time: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # reconciler lease: which server process drives this service, until when
    lease_owner: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # when the service entered Unhealthy/Unschedulable (for the timeouts)
    state_since: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    revisions: Mapped[list[Revision]] = relationship(
        back_populates="service", cascade="all, delete-orphan", passive_deletes=True
    )


class Revision(Base):
    __tablename__ = "service_revisions"
    __table_args__ = (
        UniqueConstraint("service_id", "number", name="uq_service_revisions_service_number"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default=REV_PENDING)
    models: Mapped[list[str]] = mapped_column(Json, default=list)  # ["name:version", ...]
    inference_config: Mapped[dict[str, Any] | None] = mapped_column(Json, nullable=True)
    source_files: Mapped[list[dict[str, Any]]] = mapped_column(Json, default=list)
    environment: Mapped[dict[str, Any] | None] = mapped_column(Json, nullable=True)
    environment_key: Mapped[str | None] = mapped_column(String(128), nullable=True)
    environment_lock: Mapped[str | None] = mapped_column(Text, nullable=True)
    deployment_config: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    no_code: Mapped[str | None] = mapped_column(String(16), nullable=True)  # framework if no-code
    # sslEnabled: the certificate (PEM) and the key (encrypted like the service keys)
    tls_cert: Mapped[str | None] = mapped_column(Text, nullable=True)
    tls_key_enc: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_time: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    service: Mapped[Service] = relationship(back_populates="revisions")
    model_refs: Mapped[list[RevisionModel]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True
    )


class RevisionModel(Base):
    """One model used by one revision: the list filters and the model delete guard read this."""

    __tablename__ = "service_revision_models"
    __table_args__ = (Index("ix_service_revision_models_model", "workspace", "name", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    revision_id: Mapped[int] = mapped_column(
        ForeignKey("service_revisions.id", ondelete="CASCADE"), index=True
    )
    workspace: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(255))
    version: Mapped[int] = mapped_column(Integer)


class Operation(Base):
    """A change to one service; kept after the service is deleted so clients can read the end."""

    __tablename__ = "service_operations"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    workspace: Mapped[str] = mapped_column(String(64), index=True)
    service_name: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), default=RUNNING, index=True)
    target_revision: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # last step reached (for logs and for resuming after a crash)
    step: Mapped[str | None] = mapped_column(String(32), nullable=True)
    error: Mapped[dict[str, Any] | None] = mapped_column(Json, nullable=True)
    start_time: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    end_time: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


# -- queries -----------------------------------------------------------------------------------


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


def revision(session: Session, service: Service, number: int | None) -> Revision | None:
    if number is None:
        return None
    return session.scalar(
        select(Revision).where(Revision.service_id == service.id, Revision.number == number)
    )


def next_revision_number(session: Session, service: Service) -> int:
    numbers = session.scalars(select(Revision.number).where(Revision.service_id == service.id))
    return int(max([0, *numbers])) + 1


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


def new_operation(service: Service, kind: str, target: int | None) -> Operation:
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


Labels = list[tuple[str, str | None]]


def page(
    session: Session,
    workspace: str,
    after: str | None,
    limit: int,
    *,
    compute_type: str | None,
    model_name: str | None,
    model_id: str | None,
    tags: Labels,
    properties: Labels,
) -> list[Service]:
    query = select(Service).where(Service.workspace == workspace).order_by(Service.name)
    if after is not None:
        query = query.where(Service.name > after)
    if compute_type:  # equality, case-insensitive: ``%`` and ``_`` are literals, not wildcards
        query = query.where(func.lower(Service.compute_type) == compute_type.lower())
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


def _match(labels: dict[str, str] | None, wanted: Labels) -> bool:
    labels = labels or {}
    return all(k in labels and (v is None or labels[k] == v) for k, v in wanted)


def sync_usages(session: Session, service: Service) -> None:
    """Record in the registry which models this service's desired and serving revisions use (the
    model delete guard: store/usages.py)."""
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
    ws = workspaces.get(session, workspace)
    usages.drop(session, "service", name, ws.id)


@guards.delete_guard("workspace")
def _workspace_has_services(session: Session, ws: Workspace) -> str | None:
    """Services (with or without models) keep their workspace."""
    count = session.scalar(
        select(func.count()).select_from(Service).where(Service.workspace == ws.name)
    )
    if count:
        return f"workspace {ws.name!r} still holds {count} service(s); delete them first"
    return None
