"""Signed webhooks from the outbox: payloads and signatures, retries, the delivery log and
redelivery, a kill -9 between commit and delivery, and two servers on one PostgreSQL."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ServerProcess, start_server
from tests.e2e.deploy_support import WS, register_model
from tests.observe.receiver import Receiver, receiver


@pytest.fixture
def hooks() -> Iterator[Receiver]:
    with receiver() as rec:
        yield rec


def _server(home: Path, db: str | None = None, **settings: Any) -> ServerProcess:
    home.mkdir(parents=True, exist_ok=True)
    (home / "observe.json").write_text(
        json.dumps({"webhookPollS": 0.05, "webhookBackoffS": 0.05, **settings})
    )
    return start_server(home, database_url=db)


def _cli(server: ServerProcess, *args: str) -> Any:
    env = {**server.env, "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    out = subprocess.run([sys.executable, "-m", "modelport.cli.main", *args, "-o", "json"],
                         capture_output=True, text=True, env=env, timeout=60)  # fmt: skip
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout) if out.stdout.strip() else None


def test_signed_events_retries_log_and_redelivery(tmp_path: Path, hooks: Receiver) -> None:
    server = _server(tmp_path / "home")
    try:
        client = server.client()
        ok = _cli(server, "webhook", "create", "-n", "ci", "--url", f"{hooks.url}/ok",
                  "--event-type", "ModelRegistered", "--subject-begins-with", "models/digits")  # fmt: skip
        flaky = client.post(f"{WS}/webhooks", json={
            "name": "flaky", "url": f"{hooks.url}/flaky", "schema": "cloudevents",
            "subjectBeginsWith": "models/digits"}).json()  # fmt: skip
        hooks.fail_first["/flaky"] = 5
        register_model(client, "other", "m.txt", b"x")  # filtered out by ci's subject prefix
        register_model(client, "digits", "m.txt", b"x", properties={"acc": "0.9"})

        hooks.wait(lambda: len(hooks.at("/ok")) == 1, "the event at /ok")
        (call,) = hooks.at("/ok")
        assert call.signed_with(ok["secret"]) and not call.signed_with(
            "another secret of 32 chars.."
        )
        (event,) = call.json
        assert event["eventType"] == "Microsoft.MachineLearningServices.ModelRegistered"
        assert (
            event["subject"] == "models/digits:1"
            and event["topic"] == "/modelport/workspaces/default"
        )
        assert event["data"] == {"ModelName": "digits", "ModelVersion": 1, "ModelTags": {},
                                 "ModelProperties": {"acc": "0.9"}}  # fmt: skip
        assert (event["dataVersion"], event["metadataVersion"], call.headers["webhook-id"]) == (
            "",
            "1",
            event["id"],
        )

        # five 500s, then a 200: acknowledged once, every attempt logged, the same event id each time
        hooks.wait(lambda: len(hooks.at("/flaky", 200)) == 1, "the event acknowledged at /flaky")
        assert all(c.signed_with(flaky["secret"]) for c in hooks.at("/flaky"))
        assert hooks.at("/flaky")[0].json["specversion"] == "1.0"
        log = _cli(server, "webhook", "deliveries", "-n", "flaky")
        (first,) = log
        assert (first["state"], first["attempts"], first["subject"]) == (
            "Delivered",
            6,
            "models/digits:1",
        )
        assert [a["status"] for a in first["log"]] == [500] * 5 + [200]
        assert (
            len(hooks.at("/flaky")) == 6
            and len({c.headers["webhook-id"] for c in hooks.at("/flaky")}) == 1
        )

        # redelivery on request; a rotated secret signs what follows
        new_secret = _cli(server, "webhook", "rotate-secret", "-n", "flaky")["secret"]
        _cli(server, "webhook", "redeliver", "-n", "flaky", "--delivery-id", str(first["id"]))
        hooks.wait(lambda: len(hooks.at("/flaky", 200)) == 2, "the redelivery")
        assert hooks.at("/flaky")[-1].signed_with(new_secret)
        # runs: RunCompleted; RunStatusChanged only for failed runs (as v1)
        client.post(f"{WS}/webhooks", json={"name": "runs", "url": f"{hooks.url}/runs", "eventTypes": [
            "RunCompleted", "RunStatusChanged"]}).raise_for_status()  # fmt: skip
        for status in ("Completed", "Failed", "Canceled"):
            run = client.post(f"{WS}/experiments/train/runs", json={}).json()
            client.post(f"{WS}/runs/{run['id']}/status", json={"status": status}).raise_for_status()
        hooks.wait(lambda: len(hooks.at("/runs")) == 2, "the run events")
        completed, failed = (c.json[0] for c in hooks.at("/runs"))
        assert (
            completed["eventType"].endswith("RunCompleted")
            and completed["data"]["experimentName"] == "train"
        )
        assert (
            completed["subject"].startswith("experiments/")
            and completed["data"]["runId"] in completed["subject"]
        )
        assert (
            failed["eventType"].endswith("RunStatusChanged")
            and failed["data"]["runStatus"] == "Failed"
        )
        bad = client.post(
            f"{WS}/webhooks", json={"name": "x", "url": "ftp://a", "eventTypes": ["Nope"]}
        )
        assert bad.status_code == 400 and "url" in bad.json()["message"]
    finally:
        server.stop()


def test_an_event_committed_before_a_kill_9_is_delivered_after_restart(
    tmp_path: Path, hooks: Receiver
) -> None:
    home = tmp_path / "home"
    server = _server(home, webhookPollS=3600)  # this process never gets to deliver
    client = server.client()
    hook = client.post(f"{WS}/webhooks", json={"name": "k", "url": f"{hooks.url}/k"}).json()
    register_model(client, "digits", "m.txt", b"x")
    server.kill()
    assert hooks.at("/k") == []
    again = _server(home)
    try:
        hooks.wait(lambda: len(hooks.at("/k")) == 1, "the event after the restart")
        (event,) = hooks.at("/k")[0].json
        assert event["subject"] == "models/digits:1"
        assert hooks.at("/k")[0].signed_with(hook["secret"])
        from modelport import Workspace
        from modelport.sdk.webhooks import Webhook

        ws = Workspace.get("default", server_url=again.url, token=again.token)
        assert [w["name"] for w in Webhook.list(ws)] == ["k"]
        hooks.wait(lambda: Webhook(ws, "k").deliveries()[0]["state"] == "Delivered", "the log")
    finally:
        again.stop()


def test_two_servers_on_one_postgres_deliver_each_event_once(
    tmp_path: Path, pg_url: str, hooks: Receiver
) -> None:
    first = _server(tmp_path / "a", db=pg_url)
    (tmp_path / "b").mkdir()
    shutil.copy(
        first.home / "secret.key", tmp_path / "b" / "secret.key"
    )  # servers of one database share it
    second = _server(tmp_path / "b", db=pg_url)
    try:
        c1, c2 = first.client(), second.client()
        c1.post(f"{WS}/webhooks", json={"name": "pg", "url": f"{hooks.url}/pg"}).raise_for_status()
        n = 40
        t0 = time.monotonic()
        for i in range(n):
            register_model(c1 if i % 2 else c2, f"m{i}", "m.txt", b"x")
        hooks.wait(lambda: len(hooks.at("/pg")) >= n, f"{n} events", timeout=60)
        elapsed = time.monotonic() - t0
        ids = [c.headers["webhook-id"] for c in hooks.at("/pg")]
        log = c1.get(f"{WS}/webhooks/pg/deliveries", params={"limit": 1000}).json()["value"]
        # one delivery per event, each acknowledged at its first attempt: nothing left to resend
        assert len(log) == n and all((d["state"], d["attempts"]) == ("Delivered", 1) for d in log)
        servers = {a["server"] for d in log for a in d["log"]}
        print(f"\ncampaign: {n} events, {len(ids)} deliveries, {len(ids) - len(set(ids))} duplicates, "
              f"{len(servers)} servers delivering, {elapsed:.1f} s")  # fmt: skip
        assert len(ids) == len(set(ids)) == n
    finally:
        second.stop()
        first.stop()
