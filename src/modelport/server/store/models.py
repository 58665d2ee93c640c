"""The model registry: versions of named models, their labels and the version counter."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    delete,
    exists,
    func,
    insert,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.sql import ColumnElement

from modelport.errors import NotFound, PreconditionFailed, UserError
from modelport.server import guards
from modelport.server.store.base import Base, Json, UTCDateTime, utcnow

NAME_RULE = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9\-._]{0,254}")
NAME_RULE_TEXT = (
    "1 to 255 letters, digits, dashes, periods or underscores, starting with a letter or digit"
)
FRAMEWORK_VERSION_ALONE = "Model framework version cannot be provided without a valid framework"
TAG, PROPERTY = "t", "p"


class ModelVersion(Base):
    __tablename__ = "models"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    version: Mapped[int] = mapped_column(Integer)
    description: Mapped[str | None] = mapped_column(Text)
    tags: Mapped[dict[str, str]] = mapped_column(Json)
    properties: Mapped[dict[str, str]] = mapped_column(Json)
    framework: Mapped[str | None] = mapped_column(String(64))
    framework_version: Mapped[str | None] = mapped_column(String(64))
    created_time: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str | None] = mapped_column(String(255))
    mime_type: Mapped[str] = mapped_column(String(255))
    unpack: Mapped[bool] = mapped_column(Boolean)
    experiment_name: Mapped[str | None] = mapped_column(String(255))
    run_id: Mapped[str | None] = mapped_column(String(300))
    model_root: Mapped[str] = mapped_column(String(1024))
    files: Mapped[list[dict[str, Any]]] = mapped_column(Json)
    resource_configuration: Mapped[dict[str, Any] | None] = mapped_column(Json)

    __table_args__ = (
        # Serves the listing order (name asc, version desc), get-latest and uniqueness at once.
        Index("uq_models_ws_name_version", "workspace_id", "name", version.desc(), unique=True),
        Index("ix_models_ws_run", "workspace_id", "run_id"),
    )

    @property
    def model_id(self) -> str:
        return f"{self.name}:{self.version}"


class ModelName(Base):
    """Last version handed out per name: the atomic counter behind version allocation."""

    __tablename__ = "model_names"

    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    last_version: Mapped[int] = mapped_column(Integer)


class ModelLabel(Base):
    """Tags and properties, one row per key, for filtering (the model row keeps the dicts)."""

    __tablename__ = "model_labels"

    model_id: Mapped[int] = mapped_column(
        ForeignKey("models.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(1), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(String(256))

    # Lets a selective key=value filter start from the matching labels (PostgreSQL uses it;
    # SQLite mostly walks the models index in listing order and probes the primary key).
    __table_args__ = (Index("ix_model_labels_kind_key_value", "kind", "key", "value"),)


_models = ModelVersion.__table__
_labels = ModelLabel.__table__


@dataclass
class NewModel:
    name: str
    files: list[dict[str, Any]]
    model_root: str
    description: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    properties: dict[str, str] = field(default_factory=dict)
    framework: str | None = None
    framework_version: str | None = None
    created_by: str | None = None
    mime_type: str = "application/octet-stream"
    unpack: bool = False
    experiment_name: str | None = None
    run_id: str | None = None
    resource_configuration: dict[str, Any] | None = None


@dataclass
class ModelFilter:
    name: str | None = None
    tags: list[tuple[str, str | None]] = field(default_factory=list)
    properties: list[tuple[str, str | None]] = field(default_factory=list)
    framework: str | None = None
    run_id: str | None = None
    latest: bool = False


@dataclass
class ModelChanges:
    tags: dict[str, str] | None = None
    description: str | None = None
    set_description: bool = False
    add_tags: dict[str, str] = field(default_factory=dict)
    remove_tags: list[str] = field(default_factory=list)
    add_properties: dict[str, str] = field(default_factory=dict)


def check_name(name: str) -> None:
    if not NAME_RULE.fullmatch(name):
        raise UserError(f"invalid model name {name!r}: {NAME_RULE_TEXT}")


def check_framework(framework: str | None, framework_version: str | None) -> None:
    if framework_version and not framework:
        raise UserError(FRAMEWORK_VERSION_ALONE)


def next_version(session: Session, workspace_id: int, name: str) -> int:
    """Allocate the next version of ``name`` atomically (the row lock serializes writers)."""
    pg = session.get_bind().dialect.name == "postgresql"
    stmt = (postgresql.insert if pg else sqlite.insert)(ModelName).values(
        workspace_id=workspace_id, name=name, last_version=1
    )
    upsert = stmt.on_conflict_do_update(
        index_elements=["workspace_id", "name"],
        set_={"last_version": ModelName.last_version + 1},
    ).returning(ModelName.last_version)
    return int(session.execute(upsert).scalar_one())


def register(session: Session, workspace_id: int, new: NewModel) -> ModelVersion:
    check_name(new.name)
    check_framework(new.framework, new.framework_version)
    model = ModelVersion(
        workspace_id=workspace_id,
        name=new.name,
        version=next_version(session, workspace_id, new.name),
        description=new.description,
        tags=dict(new.tags),
        properties=dict(new.properties),
        framework=new.framework,
        framework_version=new.framework_version,
        created_time=utcnow(),
        created_by=new.created_by,
        mime_type=new.mime_type,
        unpack=new.unpack,
        experiment_name=new.experiment_name,
        run_id=new.run_id,
        model_root=new.model_root,
        files=new.files,
        resource_configuration=new.resource_configuration,
    )
    session.add(model)
    session.flush()
    _write_labels(session, model.id, TAG, new.tags)
    _write_labels(session, model.id, PROPERTY, new.properties)
    return model


def _write_labels(session: Session, model_id: int, kind: str, labels: dict[str, str]) -> None:
    if labels:
        session.execute(
            insert(ModelLabel),
            [{"model_id": model_id, "kind": kind, "key": k, "value": v} for k, v in labels.items()],
        )


def get(session: Session, workspace_id: int, name: str, version: int | None) -> ModelVersion:
    """One version of ``name``; the highest when ``version`` is None."""
    query = select(ModelVersion).where(
        ModelVersion.workspace_id == workspace_id, ModelVersion.name == name
    )
    if version is None:
        query = query.order_by(ModelVersion.version.desc()).limit(1)
    else:
        query = query.where(ModelVersion.version == version)
    model = session.scalar(query)
    if model is None:
        shown = f"{name}:{version}" if version is not None else f"{name} (latest)"
        raise NotFound(f"model {shown} not found in this workspace")
    return model


def _conditions(m: Any, workspace_id: int, f: ModelFilter) -> list[ColumnElement[bool]]:
    # Core (table-level) expressions: building ORM aliases costs more than running the query.
    conds: list[ColumnElement[bool]] = [m.workspace_id == workspace_id]
    if f.name is not None:
        conds.append(m.name == f.name)
    if f.framework is not None:
        conds.append(m.framework == f.framework)
    if f.run_id is not None:
        conds.append(m.run_id == f.run_id)
    for kind, items in ((TAG, f.tags), (PROPERTY, f.properties)):
        for key, value in items:
            label = _labels.alias()
            sub = select(label.c.model_id).where(
                label.c.model_id == m.id, label.c.kind == kind, label.c.key == key
            )
            if value is not None:
                sub = sub.where(label.c.value == value)
            conds.append(exists(sub))
    return conds


def page(
    session: Session, workspace_id: int, f: ModelFilter, after: list[Any] | None, limit: int
) -> list[Row[Any]]:
    """Up to ``limit`` models ordered by name, then version descending, after the key ``after``.

    Rows (not ORM objects: listing is the hot path) with the model columns as attributes.
    """
    m = _models.c
    conds = _conditions(m, workspace_id, f)
    if f.latest:
        # The highest matching version of each name: rank within each name, keep the first.
        # Pages hold whole names, so the cursor only needs the name.
        if after is not None:
            conds.append(m.name > after[0])
        # Groups stream in index order, so the LIMIT stops the scan after ``limit`` names; each
        # group's row is then found through the unique index (a plain join makes SQLite scan
        # every model of the workspace instead).
        best = (
            select(m.name.label("name"), func.max(m.version).label("version"))
            .where(*conds)
            .group_by(m.name)
            .order_by(m.name)
            .limit(limit)
            .subquery()
        )
        pick = _models.alias().c
        ids = select(
            select(pick.id)
            .where(
                pick.workspace_id == workspace_id,
                pick.name == best.c.name,
                pick.version == best.c.version,
            )
            .scalar_subquery()
        ).select_from(best)
        query = select(_models).where(m.id.in_(ids)).order_by(m.name)
        return list(session.execute(query).all())
    if after is not None:
        name, version = after
        conds.append(m.name >= name)
        conds.append((m.name > name) | (m.version < version))
    query = select(_models).where(*conds).order_by(m.name, m.version.desc()).limit(limit)
    return list(session.execute(query).all())


def update(
    session: Session, workspace_id: int, name: str, version: int | None, changes: ModelChanges
) -> ModelVersion:
    model = get(session, workspace_id, name, version)
    taken = sorted(k for k in changes.add_properties if k in model.properties)
    if taken:
        raise UserError(
            f"property {taken[0]!r} already exists on model {model.model_id}: "
            "properties can be added but not changed"
        )
    tags = dict(model.tags) if changes.tags is None else dict(changes.tags)
    tags.update(changes.add_tags)
    for key in changes.remove_tags:
        tags.pop(key, None)
    if tags != model.tags:
        session.execute(
            delete(ModelLabel).where(ModelLabel.model_id == model.id, ModelLabel.kind == TAG)
        )
        _write_labels(session, model.id, TAG, tags)
        model.tags = tags
    if changes.add_properties:
        _write_labels(session, model.id, PROPERTY, changes.add_properties)
        model.properties = {**model.properties, **changes.add_properties}
    if changes.set_description:
        model.description = changes.description
    session.flush()
    return model


def remove(session: Session, workspace_id: int, name: str, version: int | None) -> None:
    model = get(session, workspace_id, name, version)
    reason = guards.refusal("model", session, model)
    if reason:
        raise PreconditionFailed(reason)
    try:
        with session.begin_nested():
            session.execute(delete(ModelVersion).where(ModelVersion.id == model.id))
    except IntegrityError as exc:  # a usage row appeared: the database keeps the model
        raise PreconditionFailed(f"model {model.model_id} is in use and cannot be deleted") from exc
