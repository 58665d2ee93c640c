"""The event outbox: one row per event, written by the transaction that makes the change.

A ``before_flush`` hook on every ORM session watches the changes events describe (a model
version inserted, a run's status, a service's state, a deploy/update operation succeeding) and
adds the outbox row to the same flush, so the event commits or rolls back with its change, and
no code that makes those changes has to remember to emit anything. The dispatcher
(server/observe/webhooks.py) fans rows out to subscriptions and delivers them.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Index, Integer, String, event, inspect, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from modelport.server.store.base import Base, Json, UTCDateTime, utcnow

PREFIX = "Microsoft.MachineLearningServices."
MODEL_REGISTERED = PREFIX + "ModelRegistered"
MODEL_DEPLOYED = PREFIX + "ModelDeployed"
RUN_COMPLETED = PREFIX + "RunCompleted"
RUN_STATUS_CHANGED = PREFIX + "RunStatusChanged"
# modelport's own type (no Azure equivalent): every change of a service's state
SERVICE_STATE_CHANGED = "Modelport.ServiceStateChanged"
EVENT_TYPES = (
    MODEL_REGISTERED,
    MODEL_DEPLOYED,
    RUN_COMPLETED,
    RUN_STATUS_CHANGED,
    SERVICE_STATE_CHANGED,
)


class OutboxEvent(Base):
    __tablename__ = "event_outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    workspace: Mapped[str] = mapped_column(String(255))
    event_type: Mapped[str] = mapped_column(String(255))
    subject: Mapped[str] = mapped_column(String(1024))
    event_time: Mapped[datetime] = mapped_column(UTCDateTime)
    data: Mapped[dict[str, Any]] = mapped_column(Json)
    dispatched: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (Index("ix_event_outbox_pending", "dispatched", "id"),)


def short_type(event_type: str) -> str:
    return event_type.rsplit(".", 1)[-1]


def full_type(name: str) -> str | None:
    """``ModelRegistered`` or the full name → the full name; None when unknown."""
    for t in EVENT_TYPES:
        if name in (t, short_type(t)):
            return t
    return None


def _add(
    session: Session, workspace: str, event_type: str, subject: str, data: dict[str, Any]
) -> None:
    session.add(OutboxEvent(event_id=str(uuid.uuid4()), workspace=workspace, event_type=event_type,
                            subject=subject, event_time=utcnow(), data=data, dispatched=False))  # fmt: skip


def _changed_to(obj: Any, attr: str) -> Any:
    """The new value of ``attr`` when this flush changes it, else None."""
    history = inspect(obj).attrs[attr].history
    if history.added and history.deleted and history.added[0] != history.deleted[0]:
        return history.added[0]
    return None


def _workspace_name(session: Session, workspace_id: int) -> str:
    from modelport.server.store.workspaces import Workspace

    return session.scalar(select(Workspace.name).where(Workspace.id == workspace_id)) or ""


def _on_model(session: Session, m: Any) -> None:
    _add(session, _workspace_name(session, m.workspace_id), MODEL_REGISTERED, f"models/{m.name}:{m.version}",
         {"ModelName": m.name, "ModelVersion": int(m.version), "ModelTags": dict(m.tags or {}),
          "ModelProperties": dict(m.properties or {})})  # fmt: skip


def _on_run(session: Session, run: Any, status: str) -> None:
    data = {"experimentId": str(run.experiment_id), "experimentName": run.experiment_name,
            "runId": run.run_id, "runType": "modelport", "runTags": {}, "runProperties": {}}  # fmt: skip
    subject = f"experiments/{run.experiment_id}/runs/{run.run_id}"
    ws = _workspace_name(session, run.workspace_id)
    if status == "Completed":
        _add(session, ws, RUN_COMPLETED, subject, data)
    elif status == "Failed":  # v1 raises RunStatusChanged only for failed runs
        _add(session, ws, RUN_STATUS_CHANGED, subject, {**data, "runStatus": status})


def _on_service_state(session: Session, service: Any, old: str | None, new: str) -> None:
    _add(session, service.workspace, SERVICE_STATE_CHANGED, f"endpoints/{service.name}",
         {"ServiceName": service.name, "ServiceComputeType": service.compute_type,
          "PreviousState": old, "State": new, "Error": service.error})  # fmt: skip


def _on_deployed(session: Session, op: Any) -> None:
    from modelport.server.store.services import Revision, Service

    service = session.scalar(
        select(Service).where(Service.workspace == op.workspace, Service.name == op.service_name)
    )
    if service is None:
        return
    rev = session.scalar(select(Revision).where(Revision.service_id == service.id,
                                                Revision.number == service.current_revision))  # fmt: skip
    models = [str(m) for m in (rev.models if rev is not None else [])]
    _add(session, service.workspace, MODEL_DEPLOYED, f"endpoints/{service.name}",
         {"ServiceName": service.name, "ServiceComputeType": service.compute_type,
          "ModelIds": ",".join(models), "ServiceTags": dict(service.tags or {}),
          "ServiceProperties": dict(service.properties or {})})  # fmt: skip


@event.listens_for(Session, "before_flush")
def _collect_events(session: Session, _context: Any, _instances: Any) -> None:
    from modelport.server.store.models import ModelVersion
    from modelport.server.store.runs import Run
    from modelport.server.store.services import DEPLOY, SUCCEEDED, UPDATE, Operation, Service

    with session.no_autoflush:
        for obj in list(session.new):
            if isinstance(obj, ModelVersion):
                _on_model(session, obj)
            elif isinstance(obj, Run) and obj.status in ("Completed", "Failed"):
                _on_run(session, obj, obj.status)
        for obj in list(session.dirty):
            if isinstance(obj, Service):
                history = inspect(obj).attrs["state"].history
                if history.added and history.deleted and history.added[0] != history.deleted[0]:
                    _on_service_state(session, obj, history.deleted[0], history.added[0])
            elif isinstance(obj, Run):
                status = _changed_to(obj, "status")
                if status is not None:
                    _on_run(session, obj, status)
            elif (
                isinstance(obj, Operation)
                and obj.kind in (DEPLOY, UPDATE)
                and _changed_to(obj, "state") == SUCCEEDED
            ):
                _on_deployed(session, obj)
