"""List filters are literals: ``computeType=%`` or ``_`` match no service by pattern."""

from __future__ import annotations

from pathlib import Path

from modelport.server.store import migrate
from modelport.server.store import services as service_store
from modelport.server.store.db import Store


def test_compute_type_filter_is_a_case_insensitive_literal(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    try:
        migrate.upgrade(store)
        with store.write() as session:
            for name, kind in (("a", "local"), ("b", "ACI")):
                session.add(
                    service_store.Service(workspace="default", name=name, compute_type=kind)
                )
        with store.read() as session:

            def names(compute_type: str) -> list[str]:
                rows = service_store.page(session, "default", None, 100, compute_type=compute_type,
                                          model_name=None, model_id=None, tags=[], properties=[])  # fmt: skip
                return [s.name for s in rows]

            assert names("%") == [] and names("_CI") == [] and names("loc%") == []
            assert names("aci") == ["b"] and names("LOCAL") == ["a"]
    finally:
        store.dispose()
