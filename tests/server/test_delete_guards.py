"""A model in use cannot be deleted (412), nor can the workspace holding its user (409)."""

from __future__ import annotations

import uuid

from modelport.server.store import models, usages, workspaces
from modelport.server.store.db import Store
from tests.conftest import ServerFactory
from tests.server.helpers import register


def test_model_used_by_a_service_is_kept_until_the_service_goes(
    server_factory: ServerFactory,
) -> None:
    server = server_factory()
    c = server.client()
    ws = f"g{uuid.uuid4().hex[:8]}"
    c.post("/workspaces", json={"name": ws})
    m = register(c, "used", ws=f"/workspaces/{ws}")
    # What the deploy code does when a service starts using a model (same process or not).
    store = Store(f"sqlite:///{server.home / 'db.sqlite'}")
    try:
        with store.write() as session:
            wsrow = workspaces.get(session, ws)
            usages.add(session, models.get(session, wsrow.id, "used", 1), "service", "svc-a")
        r = c.delete(f"/workspaces/{ws}/models/used/versions/1")
        assert r.status_code == 412
        assert "service 'svc-a'" in r.json()["message"] and "used:1" in r.json()["message"]
        r = c.delete(f"/workspaces/{ws}")
        assert r.status_code == 409 and "svc-a" in r.json()["message"]
        with store.write() as session:
            usages.drop(session, "service", "svc-a", workspaces.get(session, ws).id)
    finally:
        store.dispose()
    assert c.delete(f"/workspaces/{ws}/models/used/versions/{m['version']}").status_code == 204
    assert c.delete(f"/workspaces/{ws}").status_code == 204
