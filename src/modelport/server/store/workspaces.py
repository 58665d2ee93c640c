"""Workspaces: named namespaces that own models, runs, environments and services."""

from __future__ import annotations

import re
import uuid
from datetime import datetime

from sqlalchemy import Integer, String, Text, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from modelport.errors import Conflict, NotFound, UserError
from modelport.server import guards
from modelport.server.store.base import Base, UTCDateTime, add_unique, utcnow

NAME_RULE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{1,31}")
NAME_RULE_TEXT = (
    "2 to 32 characters, starting with a letter or digit, then letters, digits, '-' or '_'"
)
DEFAULT_WORKSPACE = "default"


class Workspace(Base):
    __tablename__ = "workspaces"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uid: Mapped[str] = mapped_column(String(36), unique=True)
    name: Mapped[str] = mapped_column(String(32), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    created_time: Mapped[datetime] = mapped_column(UTCDateTime)


def check_name(name: str) -> None:
    if not NAME_RULE.fullmatch(name):
        raise UserError(f"invalid workspace name {name!r}: {NAME_RULE_TEXT}")


def new_uid() -> str:
    return str(uuid.uuid4())


def create(session: Session, name: str, description: str | None) -> Workspace:
    check_name(name)
    if session.scalar(select(Workspace.id).where(Workspace.name == name)) is not None:
        raise Conflict(f"workspace {name!r} already exists")
    ws = Workspace(uid=new_uid(), name=name, description=description, created_time=utcnow())
    add_unique(session, ws, f"workspace {name!r} already exists")
    return ws


def get(session: Session, name: str) -> Workspace:
    ws = session.scalar(select(Workspace).where(Workspace.name == name))
    if ws is None:
        raise NotFound(f"workspace {name!r} not found")
    return ws


def page(session: Session, after: str | None, limit: int) -> list[Workspace]:
    query = select(Workspace).order_by(Workspace.name).limit(limit)
    if after is not None:
        query = query.where(Workspace.name > after)
    return list(session.scalars(query))


def remove(session: Session, name: str) -> None:
    ws = get(session, name)
    reason = guards.refusal("workspace", session, ws)
    if reason:
        raise Conflict(reason)
    # Children go by ON DELETE CASCADE.
    session.execute(delete(Workspace).where(Workspace.id == ws.id))
