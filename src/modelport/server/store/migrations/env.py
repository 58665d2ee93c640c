"""Alembic environment: runs on the connection that ``modelport.server.store.migrate`` hands over."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine, text

from modelport.server.store import tables  # noqa: F401  (registers every table)
from modelport.server.store.base import Base

# Any constant works; it only has to be the same in every server process.
ADVISORY_LOCK_KEY = 0x6D6F64656C706F72  # "modelpor"

config = context.config


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=True,  # SQLite needs batch mode to alter tables
        compare_type=True,
    )
    with context.begin_transaction():
        if context.get_context().dialect.name == "postgresql":
            # Several servers may start at once: the first migrates, the others wait and find
            # nothing left to do. Released at commit.
            context.get_bind().execute(
                text("SELECT pg_advisory_xact_lock(:k)"), {"k": ADVISORY_LOCK_KEY}
            )
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:  # `alembic` command line, e.g. for --autogenerate during development
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "sqlite://")
    with engine.connect() as conn:
        _run(conn)
