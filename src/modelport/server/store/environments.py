"""Registered environments: versions of named environment specs and the lock of each once built.

Curated environments are not rows: they come from :mod:`modelport.environments.curated` and are
merged into reads by the API. Names starting with a reserved prefix never reach this table.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from modelport.environments.curated import get_curated, is_curated
from modelport.environments.spec import (
    EnvironmentSpec,
    check_user_name,
    from_azure_json,
    to_azure_json,
)
from modelport.errors import NotFound, UserError
from modelport.server.crypto import SecretBox
from modelport.server.security import envsecrets
from modelport.server.store.base import Base, Json, UTCDateTime, utcnow
from modelport.server.store.workspaces import Workspace

if TYPE_CHECKING:
    from modelport.server.context import ServerContext


class EnvironmentVersion(Base):
    __tablename__ = "environments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    version: Mapped[int] = mapped_column(Integer)
    spec: Mapped[dict[str, Any]] = mapped_column(Json)  # the v1 environment JSON
    content_hash: Mapped[str] = mapped_column(String(64))  # of the spec without its version
    lock: Mapped[str | None] = mapped_column(Text)
    created_time: Mapped[datetime] = mapped_column(UTCDateTime)
    locked_time: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index(
            "uq_environments_ws_name_version", "workspace_id", "name", version.desc(), unique=True
        ),
    )


class EnvironmentName(Base):
    """Last version handed out per name: the atomic counter behind version allocation."""

    __tablename__ = "environment_names"

    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    last_version: Mapped[int] = mapped_column(Integer)


def content_hash(spec: EnvironmentSpec) -> str:
    doc = to_azure_json(replace(spec, version=None))
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


def _claim_name(session: Session, workspace_id: int, name: str, bump: bool) -> int:
    """Upsert the name's counter row; ``bump`` takes the next version, else only locks the row.

    Locking first serializes registrations of one name on PostgreSQL too, so two identical
    registrations racing each other still produce one version.
    """
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    last = EnvironmentName.last_version
    stmt = (
        insert(EnvironmentName)
        .values(workspace_id=workspace_id, name=name, last_version=1 if bump else 0)
        .on_conflict_do_update(
            index_elements=["workspace_id", "name"],
            set_={"last_version": last + 1 if bump else last},
        )
        .returning(last)
    )
    return int(session.execute(stmt).scalar_one())


def register(
    session: Session, workspace_id: int, spec: EnvironmentSpec, box: SecretBox | None = None
) -> tuple[EnvironmentVersion, bool]:
    """Store ``spec`` as the next version; an identical latest version is returned instead.
    With ``box``, secret-bearing fields are stored encrypted (security/envsecrets.py).

    Returns (row, created).
    """
    check_user_name(spec.name)
    _claim_name(session, workspace_id, spec.name, bump=False)
    latest = _latest(session, workspace_id, spec.name)
    if box is not None and latest is not None:  # a masked value keeps the previous secret
        previous = envsecrets.unseal(dict(latest.spec), box)
        spec = from_azure_json(envsecrets.restore_masked(to_azure_json(spec), previous))
    digest = content_hash(spec)
    if latest is not None and latest.content_hash == digest:
        return latest, False
    version = _claim_name(session, workspace_id, spec.name, bump=True)
    row = EnvironmentVersion(
        workspace_id=workspace_id,
        name=spec.name,
        version=version,
        spec=_sealed(to_azure_json(replace(spec, version=str(version))), box),
        content_hash=digest,
        lock=None,
        created_time=utcnow(),
        locked_time=None,
    )
    session.add(row)
    session.flush()
    return row, True


def _sealed(doc: dict[str, Any], box: SecretBox | None) -> dict[str, Any]:
    return envsecrets.seal(doc, box) if box is not None else doc


def _latest(session: Session, workspace_id: int, name: str) -> EnvironmentVersion | None:
    return session.scalar(
        select(EnvironmentVersion)
        .where(EnvironmentVersion.workspace_id == workspace_id, EnvironmentVersion.name == name)
        .order_by(EnvironmentVersion.version.desc())
        .limit(1)
    )


def get(session: Session, workspace_id: int, name: str, version: int | None) -> EnvironmentVersion:
    """One version of ``name``; the highest when ``version`` is None."""
    if version is None:
        row = _latest(session, workspace_id, name)
    else:
        row = session.scalar(
            select(EnvironmentVersion).where(
                EnvironmentVersion.workspace_id == workspace_id,
                EnvironmentVersion.name == name,
                EnvironmentVersion.version == version,
            )
        )
    if row is None:
        shown = f"{name} version {version}" if version is not None else name
        raise NotFound(f"environment {shown} not found in this workspace")
    return row


def page(
    session: Session,
    workspace_id: int,
    after: tuple[str, int] | None,
    limit: int,
    name: str | None = None,
    latest: bool = False,
) -> list[EnvironmentVersion]:
    """Registered versions ordered by name, then version descending, after the key ``after``."""
    e = EnvironmentVersion
    query = select(e).where(e.workspace_id == workspace_id)
    if name is not None:
        query = query.where(e.name == name)
    if latest:
        top = (
            select(e.name, func.max(e.version).label("version"))
            .where(e.workspace_id == workspace_id)
            .group_by(e.name)
        )
        sub = top.subquery()
        query = query.join(sub, (sub.c.name == e.name) & (sub.c.version == e.version))
    if after is not None:
        after_name, after_version = after
        query = query.where(
            (e.name > after_name) | ((e.name == after_name) & (e.version < after_version))
        )
    return list(session.scalars(query.order_by(e.name, e.version.desc()).limit(limit)))


def set_lock(
    session: Session, workspace_id: int, name: str, version: int, lock: str
) -> EnvironmentVersion:
    """Record the lock an environment version was built with (the latest build's lock wins)."""
    row = get(session, workspace_id, name, version)
    if row.lock != lock:
        row.lock = lock
        row.locked_time = utcnow()
        session.flush()
    return row


# -- lookups for the deploy code (runs inside the server process) ------------------------------


def _workspace_id(session: Session, workspace: str | None, name: str) -> int:
    if workspace is not None:
        ws = session.scalar(select(Workspace.id).where(Workspace.name == workspace))
        if ws is None:
            raise NotFound(f"workspace {workspace!r} not found")
        return int(ws)
    ids = list(
        session.scalars(
            select(EnvironmentVersion.workspace_id)
            .where(EnvironmentVersion.name == name)
            .distinct()
        )
    )
    if not ids:
        raise NotFound(f"environment {name!r} not found")
    if len(ids) > 1:
        raise UserError(f"environment {name!r} exists in several workspaces; name the workspace")
    return ids[0]


def _parse_version(version: Any) -> int | None:
    if version is None or version == "latest":
        return None
    try:
        return int(str(version))
    except ValueError:
        raise NotFound(f"environment version {version!r} not found") from None


def azure_json_for(
    server: ServerContext, name: str, version: Any = None, workspace: str | None = None
) -> dict[str, Any]:
    """The v1 JSON of a curated or registered environment (latest when ``version`` is None)."""
    if is_curated(name):
        return to_azure_json(get_curated(name, None if version is None else str(version)))
    with server.store.read() as session:
        ws_id = _workspace_id(session, workspace, name)
        doc = dict(get(session, ws_id, name, _parse_version(version)).spec)
    return envsecrets.unseal(doc, envsecrets.box_for(server.settings.home))


def spec_for(
    server: ServerContext, name: str, version: Any = None, workspace: str | None = None
) -> tuple[EnvironmentSpec, str | None]:
    """The spec and its stored lock (None until built; always None for curated ones)."""
    if is_curated(name):
        return get_curated(name, None if version is None else str(version)), None
    with server.store.read() as session:
        ws_id = _workspace_id(session, workspace, name)
        row = get(session, ws_id, name, _parse_version(version))
        doc, lock = dict(row.spec), row.lock
    return from_azure_json(envsecrets.unseal(doc, envsecrets.box_for(server.settings.home))), lock


def record_lock(
    server: ServerContext, name: str, version: Any, lock: str, workspace: str | None = None
) -> None:
    """Store the lock of a registered version after a build (curated ones keep none)."""
    if is_curated(name):
        return
    parsed = _parse_version(version)
    with server.store.write() as session:
        ws_id = _workspace_id(session, workspace, name)
        row = get(session, ws_id, name, parsed)
        set_lock(session, ws_id, name, row.version, lock)
