#!/usr/bin/env python3
"""In-process cost of modelport's ASGI layer per /score request (no sockets, no uvicorn).

Drives ``App`` directly with ASGI messages on uvloop, against an entry script whose run() returns a
constant, and compares with a bare ASGI app that answers the same constant. The difference is what
modelport's own code (request ids, admission, run threads, metrics, JSON) costs per request.

usage: python bench/serving/app_overhead.py [-n 20000] [--async-run] [--inline-budget-ms MS]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

import uvloop

from modelport.serving import entry_script, settings
from modelport.serving.admission import Admission
from modelport.serving.app import App, State
from modelport.serving.metrics import Metrics
from modelport.serving.runner import Runner

BODY = b'{"data": [[0.0, 1.0, 2.0]]}'
HEADERS = [
    (b"host", b"127.0.0.1:5001"),
    (b"content-type", b"application/json"),
    (b"content-length", str(len(BODY)).encode()),
]


async def bare(scope, receive, send):  # type: ignore[no-untyped-def]
    await receive()
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"), (b"content-length", b"3")],
        }
    )
    await send({"type": "http.response.body", "body": b"[0]"})


def make_app(async_run: bool, inline_budget_ms: float) -> App:
    d = tempfile.mkdtemp()
    path = os.path.join(d, "score.py")
    with open(path, "w") as f:
        f.write(
            "def init():\n    pass\n\n"
            + ("async " if async_run else "")
            + "def run(raw):\n    return [0]\n"
        )
    s = settings.resolve({}, environ={})
    metrics = Metrics()
    admission = Admission(1, 0.5, 1000, metrics)
    state = State()
    script = entry_script.load(path)
    state.script = script
    state.runner = Runner(
        script.run,
        script.is_async,
        1,
        60_000,
        admission.release,
        metrics.run_time.observe,
        inline_budget_ms,
    )
    state.ready = True
    return App(s, state, metrics, admission)


async def drive(app, n: int) -> float:  # type: ignore[no-untyped-def]
    scope = {"type": "http", "method": "POST", "path": "/score", "query_string": b"", "headers": HEADERS,
             "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 5001), "scheme": "http", "http_version": "1.1"}  # fmt: skip
    msg = {"type": "http.request", "body": BODY, "more_body": False}

    async def receive():  # type: ignore[no-untyped-def]
        return msg

    async def send(m):  # type: ignore[no-untyped-def]
        return None

    for _ in range(1000):
        await app(scope, receive, send)
    samples = []
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(n):
            await app(scope, receive, send)
        samples.append((time.perf_counter() - t0) / n * 1e6)
    return statistics.median(samples)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("-n", type=int, default=20000)
    ap.add_argument("--async-run", action="store_true")
    ap.add_argument(
        "--inline-budget-ms",
        type=float,
        default=settings.BY_NAME["inline_run_budget_ms"].default,
        help="0: every plain run() goes through a run thread (default: the server's default)",
    )
    a = ap.parse_args()
    app = make_app(a.async_run, a.inline_budget_ms)
    where = "async" if a.async_run else "inline" if a.inline_budget_ms > 0 else "thread"
    b = uvloop.run(drive(bare, a.n))
    m = uvloop.run(drive(app, a.n))
    print(
        f"bare ASGI app {b:.1f} us/request; modelport App ({where} run) "
        f"{m:.1f} us/request; modelport's own cost {m - b:.1f} us/request",
        file=sys.stdout,
    )


if __name__ == "__main__":
    main()
