"""Bring the database schema to the newest Alembic revision, once, even if servers start together.

PostgreSQL: the migration transaction holds an advisory lock (see ``migrations/env.py``).
SQLite: a file lock next to the database file, and the migration runs under ``BEGIN IMMEDIATE``.

Most starts find the schema current: that is checked with one query against the revision files
(read as text), so that Alembic, its templates and its dialect modules are imported only when
there is something to migrate.
"""

from __future__ import annotations

import ast
import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from filelock import FileLock
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from modelport.server.store.db import Store

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config() -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def upgrade(store: Store) -> None:
    if _is_current(store):
        return
    from alembic import command

    lock: contextlib.AbstractContextManager[Any] = contextlib.nullcontext()
    if store.is_sqlite and store.url.database not in (None, "", ":memory:"):
        db_path = Path(store.url.database or "")
        db_path.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(db_path) + ".migrate.lock")
    with lock, store.write_engine.connect() as conn:
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
        conn.commit()


def head_revision() -> str | None:
    """The single head of the revision files, or None when it is not clear-cut."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        values: dict[str, Any] = {}
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                target = node.targets[0]
                if isinstance(target, ast.Name) and target.id in ("revision", "down_revision"):
                    with contextlib.suppress(ValueError):
                        values[target.id] = ast.literal_eval(node.value)
        if "revision" not in values:
            continue
        revisions.add(str(values["revision"]))
        down = values.get("down_revision")
        if isinstance(down, str):
            parents.add(down)
        elif isinstance(down, tuple | list):
            parents.update(str(d) for d in down)
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def _is_current(store: Store) -> bool:
    head = head_revision()
    if head is None:
        return False
    try:
        with store.read_engine.connect() as conn:
            rows = conn.execute(text("SELECT version_num FROM alembic_version")).all()
    except SQLAlchemyError:  # no version table yet: a new database
        return False
    return [r[0] for r in rows] == [head]
