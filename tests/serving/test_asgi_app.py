"""The app served by another ASGI server: on its own protocol /score reads the body and writes the
answer through the connection's Cycle directly (cycle.py), elsewhere it must still speak plain ASGI
messages, with the same status, headers and body."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx

from modelport.serving import entry_script, settings
from modelport.serving.admission import Admission
from modelport.serving.app import App, State
from modelport.serving.metrics import Metrics
from modelport.serving.runner import Runner
from tests.serving.conftest import start_server, write_script

SCRIPT = """
def init():
    pass

def run(raw_data):
    return {"echo": raw_data}
"""


def _app(directory: Path) -> App:
    s = settings.resolve({}, environ={})
    metrics = Metrics()
    admission = Admission(1, 1.0, 10, metrics)
    state = State()
    script = entry_script.load(str(write_script(directory, SCRIPT)))
    script.init()
    state.script = script
    state.runner = Runner(script.run, script.is_async, 1, s.scoring_timeout_ms,
                          admission.release, metrics.run_time.observe)  # fmt: skip
    state.ready = True
    return App(s, state, metrics, admission)


async def _call(app: App, method: str, body: bytes) -> list[dict[str, Any]]:
    """One request through plain ASGI callables: the body in two parts, the messages sent back."""
    parts = [body[:3], body[3:]]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        chunk = parts.pop(0)
        return {"type": "http.request", "body": chunk, "more_body": bool(parts)}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
        "scheme": "http", "path": "/score", "raw_path": b"/score", "query_string": b"",
        "root_path": "", "client": ("127.0.0.1", 40000), "server": ("127.0.0.1", 5001),
        "headers": [(b"host", b"x"), (b"content-type", b"application/json"),
                    (b"x-request-id", b"abc"), (b"content-length", b"%d" % len(body))],
    }  # fmt: skip
    await app(scope, receive, send)
    return sent


def test_score_answers_a_plain_asgi_server_as_its_own_protocol(tmp_path: Path) -> None:
    body = b'{"a": 1}'
    sent = asyncio.run(_call(_app(tmp_path / "asgi"), "POST", body))
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
    assert sent[0]["status"] == 200
    assert sent[1]["body"] == b'{"echo":"{\\"a\\": 1}"}'
    asgi_headers = dict(sent[0]["headers"])
    assert asgi_headers[b"x-request-id"] == b"abc"
    assert asgi_headers[b"content-length"] == b"%d" % len(sent[1]["body"])

    served = start_server(tmp_path / "served", SCRIPT)
    try:
        r = httpx.post(served.url + "/score", content=body,
                       headers={"Content-Type": "application/json", "x-request-id": "abc"})  # fmt: skip
    finally:
        served.stop()
    assert r.status_code == 200
    assert r.content == sent[1]["body"]
    names = [k.lower() for k, _ in r.headers.raw]
    assert names == [k for k, _ in sent[0]["headers"]]
    for name in (b"x-request-id", b"x-ms-request-id", b"content-type", b"x-ms-run-function-failed"):
        assert r.headers[name.decode()].encode() == asgi_headers[name]
