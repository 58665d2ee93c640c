"""Connections to the metadata store: one writer at a time on SQLite, a pool on PostgreSQL.

SQLite runs in WAL mode: readers use their own connections and never block the writer; every write
transaction starts with ``BEGIN IMMEDIATE`` (taking the write lock up front, so two writers never
deadlock upgrading a read lock) and commits with ``synchronous=FULL`` before the request is
acknowledged. Inside one process writers also queue on a lock, which is fairer than SQLite's
busy-wait.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import orjson
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from modelport.errors import UserError

_SQLITE_BUSY_TIMEOUT_MS = 60_000


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def _loads(value: Any) -> Any:
    # SQLite's NUMERIC affinity hands scalar JSON numbers back as numbers.
    if isinstance(value, int | float):
        return value
    return orjson.loads(value)


# JSON columns are decoded on every listed row: orjson is several times faster than json.
_JSON_CODEC: dict[str, Any] = {"json_serializer": _dumps, "json_deserializer": _loads}


class Store:
    """Engines and sessions of one metadata database."""

    def __init__(self, url: str) -> None:
        self.url = make_url(url)
        self.dialect = self.url.get_backend_name()
        if self.dialect == "sqlite":
            self.write_engine = _sqlite_engine(url, begin="BEGIN IMMEDIATE")
            self.read_engine = _sqlite_engine(url, begin="BEGIN")
            self._write_lock: contextlib.AbstractContextManager[Any] = threading.Lock()
        elif self.dialect == "postgresql":
            # Reads run in autocommit (each statement its own snapshot): no BEGIN/COMMIT round
            # trips on the hot paths. Writes are transactions on a pool that pings before use.
            self.write_engine = create_engine(
                url, pool_size=5, max_overflow=20, pool_pre_ping=True, **_JSON_CODEC
            )
            self.read_engine = create_engine(
                url, pool_size=10, max_overflow=20, isolation_level="AUTOCOMMIT", **_JSON_CODEC
            )
            self._write_lock = contextlib.nullcontext()
        else:
            raise UserError(f"unsupported database URL {url!r}: use sqlite:/// or postgresql://")

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @contextlib.contextmanager
    def write(self) -> Iterator[Session]:
        """A write transaction, committed when the block ends (rolled back on error)."""
        with (
            self._write_lock,
            Session(self.write_engine, expire_on_commit=False) as session,
            session.begin(),
        ):
            yield session

    @contextlib.contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only snapshot."""
        with Session(self.read_engine, expire_on_commit=False) as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.write_engine.dispose()
        self.read_engine.dispose()


def _sqlite_engine(url: str, *, begin: str) -> Engine:
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": _SQLITE_BUSY_TIMEOUT_MS / 1000},
        **_JSON_CODEC,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 module so that BEGIN is ours.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={_SQLITE_BUSY_TIMEOUT_MS}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql(begin)

    return engine
