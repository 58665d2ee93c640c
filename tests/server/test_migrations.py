"""The Alembic chain has one head and builds exactly the schema the table modules declare."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from modelport.server.store import migrate, tables
from modelport.server.store.base import Base
from modelport.server.store.db import Store


def test_one_migration_head() -> None:
    heads = ScriptDirectory.from_config(migrate.alembic_config()).get_heads()
    assert len(heads) == 1, f"several Alembic heads {heads}: chain the new revision after the head"


def _diff(url: str) -> list[object]:
    assert tables.__all__  # every table module is imported
    store = Store(url)
    try:
        migrate.upgrade(store)
        migrate.upgrade(store)  # idempotent
        with store.write_engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            return list(compare_metadata(ctx, Base.metadata))
    finally:
        store.dispose()


def test_migrations_match_tables_on_sqlite(tmp_path: Path) -> None:
    assert _diff(f"sqlite:///{tmp_path / 'db.sqlite'}") == []


@pytest.mark.postgres
def test_migrations_match_tables_on_postgres(pg_url: str) -> None:
    assert _diff(pg_url) == []


def test_fast_head_check_agrees_with_alembic() -> None:
    heads = ScriptDirectory.from_config(migrate.alembic_config()).get_heads()
    assert migrate.head_revision() == heads[0]
