#!/usr/bin/env python3
"""modelport's whole request path in one process, no sockets: the real HttpProtocol (httptools
parsing, Cycle, App, Runner, metrics) fed the bytes wrk sends, answering into a fake transport.
Prints µs per request; under callgrind (``--callgrind``) the count covers only the timed loop's
requests, so it is an exact A/B of the server's own Python work (without syscalls and wake-ups).

usage: bench/serving/profile/inproc_server.py [--script noop|digits|PATH] [-n 20000]
           [--inline-budget-ms MS] [--pipeline K]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import pathlib
import sys
import time

import uvloop

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common

from modelport.serving import entry_script, settings
from modelport.serving.admission import Admission
from modelport.serving.app import App, State
from modelport.serving.connguard import ConnectionPool, effective_cap
from modelport.serving.metrics import Metrics
from modelport.serving.protocol import HttpProtocol, ServerState
from modelport.serving.runner import Runner


class Transport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.waiter: asyncio.Future[bytes] | None = None
        self.out: list[bytes] = []

    def get_extra_info(self, name: str, default: object = None) -> object:
        return {"peername": ("127.0.0.1", 40000), "sockname": ("127.0.0.1", 5001)}.get(
            name, default
        )

    def write(self, data: bytes) -> None:  # type: ignore[override]
        self.out.append(data)
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(data)

    def is_closing(self) -> bool:
        return False

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


def build(script_path: str, budget_ms: float) -> tuple[App, Metrics]:
    s = settings.resolve({}, environ={})
    metrics = Metrics()
    admission = Admission(
        s.max_concurrent_requests, s.max_queue_wait_ms / 1000, s.max_queue_length, metrics
    )
    state = State()
    os.chdir(os.path.dirname(script_path))
    script = entry_script.load(script_path)
    script.init()
    state.script = script
    runner = Runner(script.run, script.is_async, s.max_concurrent_requests, s.scoring_timeout_ms,
                    admission.release, metrics.run_time.observe, budget_ms)  # fmt: skip
    state.runner = runner
    metrics.gate = runner.gate
    state.ready = True
    return App(s, state, metrics, admission), metrics


async def drive(app: App, body: bytes, n: int, warmup: int, flag: str | None) -> float:
    loop = asyncio.get_running_loop()
    sstate = ServerState(5.0)
    t = Transport()
    proto = HttpProtocol(app, sstate, loop, ConnectionPool(effective_cap(0)), None)
    proto.connection_made(t)
    req = (b"POST /score HTTP/1.1\r\nHost: 127.0.0.1:5001\r\nContent-Type: application/json\r\n"
           b"Content-Length: %d\r\n\r\n%b" % (len(body), body))  # fmt: skip

    async def one() -> None:
        t.waiter = loop.create_future()
        proto.data_received(req)
        await t.waiter

    for _ in range(warmup):
        await one()
    if flag:  # callgrind: zero the counters now (the caller waits for this file)
        open(flag, "w").close()
        while os.path.exists(flag):
            await asyncio.sleep(0.05)
    t0 = time.perf_counter()
    for _ in range(n):
        await one()
    us = (time.perf_counter() - t0) / n * 1e6
    if flag:  # done: wait until the caller has dumped the counters
        open(flag + ".done", "w").close()
        while os.path.exists(flag + ".done"):
            await asyncio.sleep(0.05)
    assert t.out[-1].startswith(b"HTTP/1.1 200 "), t.out[-1][:200]
    return us


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--script", default="noop")
    ap.add_argument("-n", type=int, default=20000)
    ap.add_argument("--warmup", type=int, default=500)
    ap.add_argument("--inline-budget-ms", "--inline-run-budget-ms", type=float, default=2.0,
                    help="the server's --inline-run-budget-ms (either spelling)")  # fmt: skip
    ap.add_argument("--model-dir", default=os.environ.get("MODEL_DIR", "/tmp/hot15/m"))
    ap.add_argument("--flag", help="(callgrind_req.py --inproc-server) handshake file")
    a = ap.parse_args()
    os.environ.setdefault("BENCH_MODEL_PATH", os.path.join(a.model_dir, "model.joblib"))
    body = pathlib.Path(a.model_dir, "body_data.json").read_bytes()
    app, metrics = build(str(common.SCRIPTS.get(a.script, a.script)), a.inline_budget_ms)
    us = uvloop.run(drive(app, body, a.n, a.warmup, a.flag))
    g = metrics.gate
    print(f"{a.script} budget {a.inline_budget_ms} ms: {us:.1f} µs/request "
          f"(run() on loop {g.loop_calls}, thread {g.thread_calls})")  # fmt: skip
    os._exit(0)  # the run threads are daemons


if __name__ == "__main__":
    main()
