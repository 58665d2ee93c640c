"""Two deploys asking for the same port at once on PostgreSQL: one is recorded, the other is
refused with the service's name (the up-front check holds a transaction lock on the port).

Real PostgreSQL and the real ``records.create``: the first deploy's transaction is held open
while the second runs; without the lock the second saw no holder and both services got the port.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import select, text

from modelport.errors import Conflict
from modelport.server.crypto import SecretBox
from modelport.server.deploy import records
from modelport.server.deploy.revision_plan import RevisionPlan
from modelport.server.store.db import Store
from modelport.server.store.migrate import upgrade
from modelport.server.store.services import Service
from modelport.specs import DeploymentConfig
from tests.e2e.deploy_support import wait_until

PORT = 47123


def _create(
    store: Store, box: SecretBox, name: str, hold: threading.Event | None, held: threading.Event
) -> None:
    plan = RevisionPlan([], None, [], {"name": "AzureML-Minimal"})
    config = DeploymentConfig.from_json({"computeType": "local", "port": PORT})
    with store.write() as session:
        records.create(
            session, "default", name, plan, config, box, overwrite=False, port=PORT,
            free_port=lambda: PORT, tags={}, properties={}, description=None,
        )  # fmt: skip
        if hold is not None:  # keep the transaction open (uncommitted) until told
            held.set()
            assert hold.wait(60)


def test_two_deploys_for_one_port_at_once_one_is_refused(pg_url: str, tmp_path: Path) -> None:
    store = Store(pg_url)
    upgrade(store)  # the migrations create the default workspace
    box = SecretBox.for_home(tmp_path)
    release, held = threading.Event(), threading.Event()
    errors: dict[str, BaseException] = {}

    def run(name: str, hold: threading.Event | None, done: threading.Event) -> None:
        try:
            _create(store, box, name, hold, held)
        except BaseException as exc:  # checked below
            errors[name] = exc
        finally:
            done.set()

    first = threading.Thread(target=run, args=("svc-a", release, threading.Event()))
    first.start()
    # the first deploy has checked the port and inserted its row, not yet committed
    wait_until(lambda: held.is_set() or bool(errors), 30, "the first deploy's row (uncommitted)")
    second_done = threading.Event()
    second = threading.Thread(target=run, args=("svc-b", None, second_done))
    second.start()
    # the second deploy either waits for the first's lock or (the bug) finished at once
    wait_until(lambda: second_done.is_set() or _lock_waiters(store) > 0, 30, "the second deploy")
    release.set()
    first.join(60)
    second.join(60)
    assert "svc-a" not in errors, errors
    assert isinstance(errors.get("svc-b"), Conflict), errors
    assert "already used by service svc-a" in str(errors["svc-b"])
    with store.read() as session:
        holders = session.scalars(select(Service.name).where(Service.port == PORT)).all()
    assert holders == ["svc-a"]
    store.dispose()


def _lock_waiters(store: Store) -> int:
    with store.read() as session:
        found = session.execute(
            text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND "
                "database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            )
        ).scalar()
        return int(found or 0)


pytestmark = pytest.mark.timeout(120)
