"""Telemetry past its retention window is pruned; newer records stay."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from modelport.server.store import migrate
from modelport.server.store import telemetry as telemetry_store
from modelport.server.store.base import utcnow
from modelport.server.store.db import Store


def test_prune_drops_only_records_older_than_the_window(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    migrate.upgrade(store)
    now = utcnow()
    row = {"workspace": "default", "service": "s", "revision": 1, "replica": "0", "kind": "trace",
           "request_id": "r", "client_request_id": None, "method": None, "path": None, "status": None,
           "success": None, "duration_ms": None, "models": None, "message": "m", "data": None}  # fmt: skip
    with store.write() as s:
        telemetry_store.add(s, [{**row, "time": now - timedelta(hours=200)}, {**row, "time": now}])
    with store.write() as s:
        assert telemetry_store.prune(s, now - timedelta(hours=168)) == 1
    with store.read() as s:
        left = telemetry_store.query(s, "default", "s", ["trace"])
    assert [r.time for r in left] == [now]
    store.dispose()
