"""Tables of deployments: services, their revisions and the operations that change them.

The services row holds the desired state (``desired_revision``) and the observed one (``state``,
``current_revision``); only the reconciler writes the observed columns. Service secrets (keys,
token signing secret) are stored encrypted with the server's ``secret.key`` (deploy/crypto.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from modelport.server.store.base import Base, Json, UTCDateTime, utcnow

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


def _register_guards() -> None:
    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from modelport.server import guards

    @guards.delete_guard("workspace")
    def _workspace_has_services(session: Session, ws: Any) -> str | None:
        count = session.scalar(
            select(func.count()).select_from(Service).where(Service.workspace == ws.name)
        )
        if count:
            return f"workspace {ws.name!r} still holds {count} service(s); delete them first"
        return None

    @guards.delete_guard("model")
    def _model_used_by_services(session: Session, model: Any) -> str | None:
        from modelport.server.deploy.records import model_users
        from modelport.server.store.workspaces import Workspace

        ws = session.get(Workspace, model.workspace_id)
        users = model_users(session, ws.name, model.name, model.version) if ws else []
        if users:
            # the original's words (Model.delete → HTTP 412), plus which services use it
            shown = ", ".join(repr(u) for u in users[:5])
            return (
                "The model cannot be deleted because it is currently being used in one or more "
                f"images or services: service {shown}. Delete or update them first."
            )
        return None


_register_guards()
