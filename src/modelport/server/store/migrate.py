"""Bring the database schema to the newest Alembic revision, once, even if servers start together.

PostgreSQL: the migration transaction holds an advisory lock (see ``migrations/env.py``).
SQLite: a file lock next to the database file, and the migration runs under ``BEGIN IMMEDIATE``.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from filelock import FileLock

from modelport.server.store.db import Store

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def upgrade(store: Store) -> None:
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
