"""Concurrent writers get distinct, consecutive versions; several processes share one PostgreSQL."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from tests.conftest import ServerFactory, ServerProcess
from tests.server.helpers import WS, all_pages, upload

WRITERS = 8
PER_WRITER = 5


def _hammer(clients: list[httpx.Client], name: str, entry: dict[str, object]) -> list[int]:
    """WRITERS threads register ``name`` PER_WRITER times each, released at the same instant."""
    barrier = threading.Barrier(WRITERS)

    def writer(i: int) -> list[int]:
        c = clients[i % len(clients)]
        barrier.wait()
        versions = []
        for _ in range(PER_WRITER):
            r = c.post(f"{WS}/models", json={"name": name, "files": [entry]})
            assert r.status_code == 201, r.text
            versions.append(r.json()["version"])
        return versions

    with ThreadPoolExecutor(WRITERS) as pool:
        return [v for vs in pool.map(writer, range(WRITERS)) for v in vs]


def test_threads_registering_one_name_get_distinct_consecutive_versions(
    registry: ServerProcess,
) -> None:
    clients = [registry.client() for _ in range(WRITERS)]
    entry = upload(clients[0], b"same file")
    name = f"race-{uuid.uuid4().hex[:8]}"
    versions = _hammer(clients, name, entry)
    assert sorted(versions) == list(range(1, WRITERS * PER_WRITER + 1))
    listed = all_pages(clients[0], f"{WS}/models", name=name)
    assert [m["version"] for m in listed] == list(range(WRITERS * PER_WRITER, 0, -1))


def test_two_processes_on_one_postgres_lose_and_duplicate_nothing(
    server_factory: ServerFactory, pg_url: str
) -> None:
    a = server_factory(database_url=pg_url)
    b = server_factory(database_url=pg_url, artifacts=a.home / "artifacts")
    clients = [a.client(), b.client()]
    entry = upload(clients[0], b"shared artifact store")
    assert clients[1].head(f"{WS}/blobs/{entry['sha256']}").status_code == 200
    name = f"race-{uuid.uuid4().hex[:8]}"
    versions = _hammer(clients, name, entry)
    assert sorted(versions) == list(range(1, WRITERS * PER_WRITER + 1))
    for c in clients:
        listed = all_pages(c, f"{WS}/models", name=name, limit="7")
        assert sorted(m["version"] for m in listed) == sorted(versions)


def test_servers_starting_together_on_a_fresh_postgres_migrate_once(
    server_factory: ServerFactory, pg_url: str
) -> None:
    with ThreadPoolExecutor(3) as pool:
        servers = list(pool.map(lambda _: server_factory(database_url=pg_url), range(3)))
    for s in servers:
        names = [w["name"] for w in s.client().get("/workspaces").json()["value"]]
        assert names == ["default"]


def test_servers_starting_together_on_one_sqlite_file_migrate_once(
    server_factory: ServerFactory, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'shared.sqlite'}"
    shared = tmp_path / "artifacts"  # one database and one artifact store, a home each
    with ThreadPoolExecutor(3) as pool:
        servers = list(
            pool.map(lambda _: server_factory(database_url=url, artifacts=shared), range(3))
        )
    entry = upload(servers[0].client(), b"x")
    versions = [
        s.client().post(f"{WS}/models", json={"name": "shared", "files": [entry]}).json()["version"]
        for s in servers
    ]
    assert versions == [1, 2, 3]
