"""(e) Eight clients register, deploy and delete at once against SQLite and PostgreSQL: no
duplicate version, no lost row, no deadlock (every request answers within its timeout), no 5xx."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ServerFactory, ServerProcess, campaign, fresh_pg_database
from tests.e2e.deploy_support import WS, replica_pids, snapshot, start_deploy_server, tagged_script
from tests.security.support import sha

CLIENTS = 8
DEPLOYERS = 2  # of the eight; the others register and delete models
# against SQLite and against PostgreSQL: 15 s in the suite (every deployer finishes at least one
# deploy and delete, the registrars hundreds of requests), the minute by hand
SECONDS = campaign(15.0, 60.0)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def server(
    request: pytest.FixtureRequest, server_factory: ServerFactory, tmp_path: Path
) -> Iterator[ServerProcess]:
    if request.param == "postgres":
        with fresh_pg_database() as url:
            yield start_deploy_server(server_factory, tmp_path / "home", database_url=url)
    else:
        yield start_deploy_server(server_factory, tmp_path / "home")


class Tally:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.versions: list[int] = []  # acknowledged registrations of model "conc"
        self.deleted: set[int] = set()
        self.requests = 0
        self.errors: list[str] = []
        self.deploys = 0
        self.service_deletes = 0

    def answer(self, r: httpx.Response, ok: tuple[int, ...]) -> bool:
        with self.lock:
            self.requests += 1
            if r.status_code not in ok:
                self.errors.append(
                    f"{r.request.method} {r.request.url.path} {r.status_code} {r.text[:200]}"
                )
                return False
        return True


def _registrar(server: ServerProcess, tally: Tally, seed: int, until: float) -> None:
    rng = random.Random(seed)
    c = server.client(timeout=30)
    mine: list[int] = []
    while time.monotonic() < until:
        try:
            if mine and rng.random() < 0.25:
                v = mine.pop(rng.randrange(len(mine)))
                if tally.answer(c.delete(f"{WS}/models/conc/versions/{v}"), (204,)):
                    with tally.lock:
                        tally.deleted.add(v)
                continue
            data = rng.randbytes(rng.randint(10, 20_000))
            if not tally.answer(c.put(f"{WS}/blobs/{sha(data)}", content=data), (200, 201)):
                continue
            entry = {"path": "w.bin", "sha256": sha(data), "size": len(data)}
            r = c.post(
                f"{WS}/models", json={"name": "conc", "files": [entry], "tags": {"seed": str(seed)}}
            )
            if tally.answer(r, (201,)):
                with tally.lock:
                    tally.versions.append(r.json()["version"])
                mine.append(r.json()["version"])
            tally.answer(c.get(f"{WS}/models", params={"name": "conc", "latest": "true"}), (200,))
        except httpx.HTTPError as exc:  # a timeout here would be a deadlock
            with tally.lock:
                tally.errors.append(f"client {seed}: {exc!r}")


def _deployer(server: ServerProcess, tally: Tally, seed: int, until: float) -> None:
    c = server.client(timeout=30)
    n = 0
    while n == 0 or time.monotonic() < until:  # at least one deploy and delete, however slow
        n += 1
        name = f"conc-{seed}-{n}"
        try:
            body = {
                "name": name,
                "models": [],
                "inferenceConfig": {"entryScript": "score.py"},
                "sourceSnapshot": snapshot(c, {"score.py": tagged_script(name)}),
                "environment": {"name": "AzureML-Minimal", "version": None},
            }
            r = c.post(f"{WS}/services", json=body)
            if not tally.answer(r, (202,)):
                continue
            op = _finished(c, r.json()["operation"]["id"])
            assert op["state"] == "Succeeded", op
            with tally.lock:
                tally.deploys += 1
            r = c.delete(f"{WS}/services/{name}")
            if not tally.answer(r, (202,)):
                continue
            _finished(c, r.json()["operation"]["id"])
            assert c.get(f"{WS}/services/{name}").status_code == 404
            with tally.lock:
                tally.service_deletes += 1
        except (httpx.HTTPError, AssertionError) as exc:
            with tally.lock:
                tally.errors.append(f"deployer {seed}: {exc!r}")


def _finished(c: httpx.Client, op_id: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        op = dict(c.get(f"{WS}/operations/{op_id}").json())
        if op["state"] != "Running":
            return op
        assert time.monotonic() < deadline, f"operation stuck: {op}"
        time.sleep(0.2)  # poll interval, bounded by the deadline


@pytest.mark.slow
def test_eight_clients_at_once_lose_nothing_and_never_deadlock(server: ServerProcess) -> None:
    tally = Tally()
    until = time.monotonic() + SECONDS
    threads = [
        threading.Thread(
            target=_deployer if i < DEPLOYERS else _registrar, args=(server, tally, i, until)
        )
        for i in range(CLIENTS)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(SECONDS + 180)
        assert not t.is_alive(), "a client never finished: deadlock"
    assert not tally.errors, "\n".join(tally.errors[:20])
    assert tally.deploys >= DEPLOYERS and tally.service_deletes >= DEPLOYERS
    assert tally.versions and tally.deleted, "the registrars did not get to work"
    # no duplicate version, and versions are never reused after a delete
    assert len(tally.versions) == len(set(tally.versions)), sorted(tally.versions)
    c = server.client()
    listed = []
    after = None
    while True:
        page = c.get(
            f"{WS}/models",
            params={"name": "conc", "limit": 1000, **({"after": after} if after else {})},
        ).json()
        listed += [m["version"] for m in page["value"]]
        after = page["next"]
        if after is None:
            break
    expected = sorted(set(tally.versions) - tally.deleted)
    assert sorted(listed) == expected, "lost or extra rows"
    assert c.get(f"{WS}/services").json()["value"] == []
    assert replica_pids(server.home) == []
    backend = "postgres" if server.database_url else "sqlite"
    print(
        f"\n[campaign] concurrency {backend}: {CLIENTS} clients for {SECONDS:.0f} s, "
        f"{tally.requests} requests, {len(tally.versions)} versions registered, "
        f"{len(tally.deleted)} deleted, {tally.deploys} deploys + {tally.service_deletes} "
        "service deletes, 0 errors"
    )
