"""(b) kill -9 the workspace server at seeded random points during register, deploy, update and
delete. After each restart: every acknowledged model and service is intact, every blob's sha256
matches its name, no temp file is left, no replica process runs that no service records, and the
reconciler brings every service to its desired state."""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ServerFactory, ServerProcess, campaign, start_server
from tests.e2e.deploy_support import (
    WS,
    replica_pids,
    snapshot,
    start_deploy_server,
    tagged_script,
)
from tests.security.support import blob_problems, sha, temp_files

SEED = 20261126
# kill points per kind of operation: register twice as often as the others (it is the quickest).
# 2 in the suite (10 points: every kind, killed at seeded points in its window); 4 by hand (20)
PER_KIND = campaign(2, 4)
POINTS = 5 * PER_KIND  # = len(schedule)
# kill windows (seconds after the request starts): cover the whole of each operation
WINDOWS = {"register": 0.4, "deploy": 4.0, "update": 4.0, "delete": 1.5}
FINAL = ("Healthy", "Failed", "Unhealthy")


class Campaign:
    def __init__(self, server: ServerProcess) -> None:
        self.server = server
        self.models: dict[str, tuple[str, bytes]] = {}  # "name:version" -> (sha, bytes)
        self.services: dict[str, str] = {}  # acknowledged: name -> "present" | "absent"
        self.maybe: set[str] = set()  # not acknowledged: either outcome is fine
        self.descriptions: dict[str, str | None] = {}  # acknowledged descriptions
        self.pending: dict[str, str] = {}  # sent, not acknowledged: may or may not have landed
        self.counter = 0
        self.killed_during: dict[str, int] = {}
        self.acked = 0

    def client(self) -> httpx.Client:
        return self.server.client(timeout=30)

    # -- the actions, each run in a thread that the kill interrupts -----------------------------
    def register(self, c: httpx.Client, rng: random.Random) -> Any:
        data = rng.randbytes(rng.randint(100_000, 3_000_000))
        r = c.put(f"{WS}/blobs/{sha(data)}", content=data)
        assert r.status_code in (200, 201), r.text
        entry = {"path": "w.bin", "sha256": sha(data), "size": len(data)}
        r = c.post(f"{WS}/models", json={"name": "crashy", "files": [entry]})
        assert r.status_code == 201, r.text
        self.models[f"crashy:{r.json()['version']}"] = (sha(data), data)
        return r

    def deploy(self, c: httpx.Client, rng: random.Random) -> Any:
        self.counter += 1
        name = f"svc-k{self.counter}"
        self.maybe.add(name)
        body = {
            "name": name,
            "models": [],
            "inferenceConfig": {"entryScript": "score.py"},
            "sourceSnapshot": snapshot(c, {"score.py": tagged_script(name)}),
            "environment": {"name": "AzureML-Minimal", "version": None},
        }
        r = c.post(f"{WS}/services", json=body)
        assert r.status_code == 202, r.text
        self.services[name] = "present"
        return r

    def update(self, c: httpx.Client, rng: random.Random) -> Any:
        name = rng.choice(self.present())
        desc = f"update-{rng.randint(0, 10**9)}"
        self.maybe.add(name)
        self.pending[name] = desc
        body = {
            "description": desc,
            "sourceSnapshot": snapshot(c, {"score.py": tagged_script(desc)}),
            "inferenceConfig": {"entryScript": "score.py"},
        }
        r = c.patch(f"{WS}/services/{name}", json=body)
        assert r.status_code == 202, r.text
        self.descriptions[name] = desc
        self.pending.pop(name, None)
        return r

    def delete(self, c: httpx.Client, rng: random.Random) -> Any:
        name = rng.choice(self.present())
        self.maybe.add(name)
        r = c.delete(f"{WS}/services/{name}")
        assert r.status_code == 202, r.text
        self.services[name] = "absent"
        return r

    def present(self) -> list[str]:
        return sorted(n for n, s in self.services.items() if s == "present")

    # -- one fault point -------------------------------------------------------------------
    def point(self, kind: str, rng: random.Random) -> None:
        if kind in ("update", "delete") and not self.present():
            kind = "deploy"
        delay = rng.uniform(0.0, WINDOWS[kind])
        outcome: dict[str, Any] = {}
        c = self.client()

        def act() -> None:
            try:
                outcome["response"] = getattr(self, kind)(c, rng)
            except (httpx.HTTPError, AssertionError) as exc:
                outcome["error"] = exc

        worker = threading.Thread(target=act)
        worker.start()
        worker.join(delay)  # the fault lands `delay` seconds into the operation (or after it)
        self.server.kill()
        worker.join(30)
        self.killed_during[kind] = self.killed_during.get(kind, 0) + 1
        if "response" in outcome:
            self.acked += 1
            if kind in ("deploy", "delete"):
                self.maybe.clear()  # acknowledged: the outcome is no longer open
        t0 = time.monotonic()
        self.server = start_server(self.server.home)
        factory_servers.append(self.server)
        t1 = time.monotonic()
        self.verify(kind, delay)
        print(
            f"  point {kind} at {delay:.2f}s: restart {t1 - t0:.1f}s, settle {time.monotonic() - t1:.1f}s"
        )

    # -- invariants after a restart ---------------------------------------------------------
    def verify(self, kind: str, delay: float) -> None:
        c = self.client()
        where = f"after kill during {kind} at {delay:.2f} s"
        for ref, (digest, data) in self.models.items():
            name, version = ref.split(":")
            r = c.get(f"{WS}/models/{name}/versions/{version}")
            assert r.status_code == 200, f"{where}: acknowledged model {ref} lost: {r.text}"
            assert r.json()["files"][0]["sha256"] == digest
            assert c.get(f"{WS}/blobs/{digest}").content == data, f"{where}: {ref} damaged"
        artifacts = self.server.home / "artifacts"
        assert blob_problems(artifacts) == [], where
        assert temp_files(artifacts) == [], f"{where}: temp files left: {temp_files(artifacts)}"
        versions = [int(r.split(":")[1]) for r in self.models]
        assert len(versions) == len(set(versions))
        self.settle(c, where)

    def settle(self, c: httpx.Client, where: str, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            listed = {s["name"]: s for s in c.get(f"{WS}/services").json()["value"]}
            problems = []
            for name, want in self.services.items():
                svc = listed.get(name)
                if want == "absent" and svc is not None and name not in self.maybe:
                    problems.append(f"{name} should be gone: {svc['state']}")
                if want == "present" and svc is None and name not in self.maybe:
                    problems.append(f"acknowledged {name} lost")
            for name, svc in listed.items():
                if svc["state"] not in FINAL or svc["revision"] != svc["desiredRevision"]:
                    problems.append(f"{name} still {svc['state']} rev {svc['revision']}")
                elif svc["state"] != "Healthy":
                    problems.append(f"{name} is {svc['state']}: {svc['error']}")
                elif len(svc["replicas"]) != svc["numReplicas"]:
                    problems.append(f"{name} has {len(svc['replicas'])} replicas")
            recorded = {r["pid"] for s in listed.values() for r in s["replicas"]}
            orphans = sorted(set(replica_pids(self.server.home)) - recorded)
            if orphans:
                problems.append(f"orphan replica processes {orphans}")
            if not problems:
                break
            if time.monotonic() > deadline:
                raise AssertionError(f"{where}: not reconciled in {timeout} s: {problems}")
            time.sleep(0.25)  # poll interval, bounded by the deadline
        # what exists now is the truth for the next point
        for name in list(self.maybe):
            self.services[name] = "present" if name in listed else "absent"
        self.maybe.clear()
        for name, svc in listed.items():
            allowed = {self.descriptions.get(name), self.pending.get(name)}
            if svc["description"] not in allowed:
                raise AssertionError(f"{where}: acknowledged update of {name} lost: {svc}")
            self.descriptions[name] = svc["description"]
        self.pending.clear()


factory_servers: list[ServerProcess] = []


@pytest.mark.slow
@pytest.mark.timeout(900)  # up to 20 server restarts: each is seconds of imports on a busy box
def test_kill_9_at_seeded_points_loses_nothing(
    server_factory: ServerFactory, tmp_path: Path
) -> None:
    rng = random.Random(SEED)
    campaign = Campaign(start_deploy_server(server_factory, tmp_path / "home"))
    kinds = ["register"] * 2 + ["deploy", "update", "delete"]
    schedule = [kind for kind in kinds for _ in range(PER_KIND)]
    rng.shuffle(schedule)
    try:
        c = campaign.client()
        for _ in range(3):  # services for the first updates and deletes to act on
            campaign.deploy(c, rng)
        campaign.maybe.clear()
        campaign.settle(c, "before the campaign")
        for kind in schedule:
            campaign.point(kind, rng)
        # finally everything deployed can be scored and deleted cleanly
        c = campaign.client()
        for name in campaign.present():
            svc = c.get(f"{WS}/services/{name}").json()
            assert httpx.post(svc["scoringUri"], json={}, timeout=30).status_code == 200
            assert c.delete(f"{WS}/services/{name}").status_code == 202
        deadline = time.monotonic() + 60
        while c.get(f"{WS}/services").json()["value"] or replica_pids(campaign.server.home):
            assert time.monotonic() < deadline, "delete after the campaign did not finish"
            time.sleep(0.25)  # poll interval, bounded by the deadline
    finally:
        for s in factory_servers:
            s.stop()
        factory_servers.clear()
    print(
        f"\n[campaign] kill -9 of the workspace server: {POINTS} faults injected "
        f"{dict(sorted(campaign.killed_during.items()))}, {campaign.acked} acknowledged "
        f"before the kill, {len(campaign.models)} models checked, seed {SEED}"
    )
