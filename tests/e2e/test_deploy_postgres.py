"""Deployments on PostgreSQL: one server, and two servers sharing one database (row-lock leases)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ServerFactory, ServerProcess
from tests.e2e.deploy_support import (
    WS,
    delete_and_wait,
    deploy,
    deployed,
    replica_pids,
    servers_with_cleanup,
    tagged_script,
    wait_until,
)


@pytest.fixture
def deploy_servers(
    server_factory: ServerFactory, tmp_path: Path
) -> Iterator[Callable[..., ServerProcess]]:
    yield from servers_with_cleanup(server_factory, tmp_path)


def test_two_servers_on_one_database_drive_each_service_once(
    deploy_servers: Callable[..., ServerProcess], tmp_path: Path, pg_url: str
) -> None:
    a = deploy_servers(tmp_path / "a", database_url=pg_url)
    b = deploy_servers(tmp_path / "b", database_url=pg_url)
    client_a, client_b = a.client(), b.client()
    names = ["pg-one", "pg-two"]
    for i, name in enumerate(names):
        client = (client_a, client_b)[i]
        service = deployed(client, deploy(client, name, script=tagged_script(name)))
        assert service["state"] == "Healthy", service
        answer = httpx.post(service["scoringUri"], content=b"{}", timeout=10)
        assert answer.json() == {"revision": name}
    # each service runs exactly one replica, in whichever server claimed it
    assert len(replica_pids(tmp_path / "a")) + len(replica_pids(tmp_path / "b")) == 2
    listed = client_b.get(f"{WS}/services").json()["value"]
    assert sorted(s["name"] for s in listed) == names
    for name in names:
        delete_and_wait(client_a, name)
    wait_until(
        lambda: not replica_pids(tmp_path / "a") and not replica_pids(tmp_path / "b"),
        30,
        "every replica to exit",
    )
