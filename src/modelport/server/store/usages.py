"""Which consumers (services, packages) use a model version: the 'in use' side of model delete.

A consumer records a row when it starts using a model and removes it when it stops; the foreign
key refuses to delete a used model even if a delete races with a deploy, and the guard below turns
the refusal into a readable 412.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ForeignKey, String, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from modelport.server import guards
from modelport.server.store.base import Base
from modelport.server.store.models import ModelVersion
from modelport.server.store.workspaces import Workspace


class ModelUsage(Base):
    __tablename__ = "model_usages"

    model_id: Mapped[int] = mapped_column(
        ForeignKey("models.id", ondelete="RESTRICT"), primary_key=True
    )
    consumer_kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    consumer_name: Mapped[str] = mapped_column(String(255), primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )


def add(session: Session, model: ModelVersion, kind: str, name: str) -> None:
    """Record that consumer ``kind``/``name`` uses ``model`` (idempotent)."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    stmt = insert(ModelUsage).values(
        model_id=model.id, consumer_kind=kind, consumer_name=name, workspace_id=model.workspace_id
    )
    session.execute(stmt.on_conflict_do_nothing())


def drop(session: Session, kind: str, name: str, workspace_id: int) -> None:
    """Forget every model that consumer ``kind``/``name`` used."""
    session.execute(
        delete(ModelUsage).where(
            ModelUsage.consumer_kind == kind,
            ModelUsage.consumer_name == name,
            ModelUsage.workspace_id == workspace_id,
        )
    )


def _consumers(session: Session, *where: Any) -> list[str]:
    rows = session.execute(
        select(ModelUsage.consumer_kind, ModelUsage.consumer_name)
        .where(*where)
        .distinct()
        .order_by(ModelUsage.consumer_kind, ModelUsage.consumer_name)
        .limit(5)
    )
    return [f"{kind} {name!r}" for kind, name in rows]


@guards.delete_guard("model")
def _model_in_use(session: Session, model: ModelVersion) -> str | None:
    users = _consumers(session, ModelUsage.model_id == model.id)
    if users:
        # the original's words (Model.delete → HTTP 412), plus which consumers use it
        return (
            "The model cannot be deleted because it is currently being used in one or more "
            f"images or services: {', '.join(users)}. Delete or update them first "
            f"(model {model.model_id})."
        )
    return None


@guards.delete_guard("workspace")
def _workspace_in_use(session: Session, ws: Workspace) -> str | None:
    users = _consumers(session, ModelUsage.workspace_id == ws.id)
    if users:
        return f"workspace {ws.name!r} still holds {', '.join(users)}; delete them first"
    return None
