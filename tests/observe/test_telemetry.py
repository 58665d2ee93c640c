"""Request telemetry end to end: a real server, a real replica, the CLI, the SDK and OTLP export."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.conftest import ServerProcess
from tests.e2e.deploy_support import WS, deploy, deployed
from tests.observe.otlp_receiver import Received, attrs

SCRIPT = """
import json, logging, os

def init():
    print("init done")

def run(raw):
    data = json.loads(raw)
    if data.get("fail"):
        raise ValueError("bad input " + str(data["fail"]))
    print(json.dumps({"input": data["x"], "note": "scored"}))
    logging.getLogger("score").warning("logged %s", data["x"])
    return {"insights": os.environ.get("AML_APP_INSIGHTS_ENABLED")}
"""


def poll(
    fetch: Callable[[], Any], ok: Callable[[Any], bool], what: str, timeout: float = 30
) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if ok(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: still {value!r} after {timeout} s")
        time.sleep(0.1)  # poll interval, bounded by the deadline


@pytest.fixture(scope="module")
def service(server: ServerProcess) -> dict[str, Any]:
    client = server.client()
    config = {"computeType": "local", "appInsightsEnabled": True}
    svc = deployed(client, deploy(client, "tele", script=SCRIPT, config=config))
    assert svc["state"] == "Healthy", svc
    uri = svc["scoringUri"]
    ok = httpx.post(uri, json={"x": 7}, headers={"x-request-id": "req-ok-1",
                                                 "x-ms-client-request-id": "client-1"})  # fmt: skip
    assert ok.status_code == 200 and ok.json() == {"insights": "true"}, ok.text
    bad = httpx.post(uri, json={"fail": "boom"}, headers={"x-request-id": "req-fail-1"})
    assert bad.status_code == 500
    return dict(svc)


def _telemetry(client: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    r = client.get(f"{WS}/services/tele/telemetry", params=params)
    assert r.status_code == 200, r.text
    return list(r.json()["value"])


def test_requests_traces_and_exceptions_reach_the_server(
    server: ServerProcess, service: dict[str, Any]
) -> None:
    client = server.client()
    requests = poll(lambda: _telemetry(client, kind="requests"), lambda v: len(v) >= 2, "requests")
    by_id = {r["requestId"]: r for r in requests}
    ok, bad = by_id["req-ok-1"], by_id["req-fail-1"]
    assert (ok["status"], ok["success"], ok["method"], ok["path"]) == (200, True, "POST", "/score")
    assert ok["clientRequestId"] == "client-1" and ok["durationMs"] > 0
    assert ok["replica"] == "0" and ok["revision"] == 1
    assert (bad["status"], bad["success"]) == (500, False)
    assert [r["requestId"] for r in _telemetry(client, kind="requests", failed="true")] == [
        "req-fail-1"
    ]

    traces = poll(lambda: _telemetry(client, kind="traces", requestId="req-ok-1"),
                  lambda v: len(v) >= 2, "traces")  # fmt: skip
    printed = next(t for t in traces if t.get("fields"))
    assert printed["fields"] == {"input": 7, "note": "scored"}
    assert any("logged 7" in t["message"] for t in traces)

    exc = poll(lambda: _telemetry(client, kind="exceptions"), lambda v: len(v) >= 1, "exceptions")
    assert exc[0]["requestId"] == "req-fail-1"
    assert "ValueError: bad input boom" in exc[0]["message"] and "Traceback" in exc[0]["message"]


def test_cli_and_sdk_read_the_same_telemetry(
    server: ServerProcess, service: dict[str, Any]
) -> None:
    client = server.client()
    poll(lambda: _telemetry(client, kind="exceptions"), lambda v: len(v) >= 1, "exceptions")
    env = {**server.env, "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-m", "modelport.cli.main", "service", "telemetry", "-n", "tele",
         "--request-id", "req-fail-1", "-o", "json"],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    kinds = sorted(item["kind"] for item in json.loads(out.stdout))
    assert kinds == ["exception", "request"]
    bad = subprocess.run(
        [sys.executable, "-m", "modelport.cli.main", "service", "telemetry", "-n", "tele",
         "--since", "yesterday"], capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert bad.returncode != 0 and "Traceback" not in bad.stderr
    assert "neither a duration" in bad.stderr

    from modelport import Webservice, Workspace

    ws = Workspace.get("default", server_url=server.url, token=server.token)
    items = Webservice(ws, "tele").get_telemetry(kinds=["requests"], request_id="req-ok-1")
    assert [(i["requestId"], i["status"]) for i in items] == [("req-ok-1", 200)]


def test_otlp_export_has_spans_exception_events_and_logs(
    service: dict[str, Any], otlp: tuple[str, Received]
) -> None:
    _, got = otlp

    def spans() -> dict[str, Any]:
        with got.lock:
            return {
                attrs(s.attributes).get("modelport.request_id"): (res, s) for res, s in got.spans
            }

    found = poll(spans, lambda v: {"req-ok-1", "req-fail-1"} <= set(v), "OTLP spans")
    res, ok = found["req-ok-1"]
    assert res["service.name"] == "tele" and res["service.namespace"] == "default"
    a = attrs(ok.attributes)
    assert a["http.response.status_code"] == 200 and a["url.path"] == "/score"
    assert a["modelport.client_request_id"] == "client-1"
    assert ok.end_time_unix_nano > ok.start_time_unix_nano
    _, bad = found["req-fail-1"]
    assert [e.name for e in bad.events] == ["exception"]
    assert "bad input boom" in attrs(bad.events[0].attributes)["exception.stacktrace"]
    assert bad.status.code == 2  # STATUS_CODE_ERROR

    def logs() -> list[Any]:
        with got.lock:
            return [
                r
                for _, r in got.logs
                if attrs(r.attributes).get("modelport.request_id") == "req-ok-1"
            ]

    records = poll(logs, lambda v: len(v) >= 2, "OTLP log records")
    # a trace printed during the request carries the request span's trace id
    assert all(r.trace_id == ok.trace_id and r.span_id == ok.span_id for r in records)
