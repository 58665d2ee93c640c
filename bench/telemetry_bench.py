#!/usr/bin/env python3
"""What request telemetry costs per /score request, in process: the same App with it off and on.

Drives ``App`` with ASGI messages on uvloop (bench/serving/app_overhead.py's harness) against an
entry script that returns a constant, alternating rounds of telemetry off / on so that a shared,
loaded machine slows both alike; the difference of the medians is the overhead. With it on, the
reporter thread really encodes and POSTs every batch to a sink in another process (a stand-in
for the workspace server answering 204), so its CPU and GIL share are in the figure too.

``--instructions`` counts instructions instead (valgrind --tool=callgrind), immune to a loaded
machine: the same N requests through App with telemetry off, then on with the reporter's work
(encode, JSON, POST per batch of 500) done inline; the difference divided by N is the overhead.

usage: python bench/telemetry_bench.py [-n 20000] [--rounds 7]
       python bench/telemetry_bench.py --instructions [-n 3000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

import uvloop

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "serving"))
from app_overhead import drive, make_app

from modelport.serving.telemetry import Sink, Telemetry

SINK = """
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(204); self.send_header("Content-Length", "0"); self.end_headers()
s = http.server.HTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
"""


def _count(mode: str, n: int, port: int) -> None:
    """Run under callgrind: n requests with telemetry ``mode`` (off|on), reporting inline."""
    import asyncio

    # run() always inline (a large budget): valgrind's slowness must not send calls to threads
    app = make_app(False, 1000.0)
    tel = Telemetry(Sink(f"http://127.0.0.1:{port}/ingest", "k", None, None), requests=True,
                    data=False, capacity=100_000)  # fmt: skip
    if mode == "on":
        app.telemetry = tel
    scope = {"type": "http", "method": "POST", "path": "/score", "query_string": b"",
             "headers": [(b"content-type", b"application/json"), (b"content-length", b"27")],
             "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 5001), "scheme": "http",
             "http_version": "1.1"}  # fmt: skip
    msg = {"type": "http.request", "body": b'{"data": [[0.0, 1.0, 2.0]]}', "more_body": False}

    async def receive() -> dict[str, object]:
        return msg

    async def send(m: object) -> None:
        return None

    async def go() -> None:
        for i in range(n):
            await app(scope, receive, send)
            if mode == "on" and i % 500 == 499:
                tel.flush()
        if mode == "on":
            tel.flush()

    asyncio.run(go())


def instructions(n: int) -> None:
    sink_proc = subprocess.Popen([sys.executable, "-c", SINK], stdout=subprocess.PIPE, text=True)
    try:
        assert sink_proc.stdout is not None
        port = sink_proc.stdout.readline().strip()
        counts = {}
        for mode, reqs in (("off", 0), ("off", n), ("on", 0), ("on", n)):
            out = f"/tmp/telemetry-bench.callgrind.{mode}.{reqs}"
            subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
                            sys.executable, __file__, "--count", mode, "-n", str(reqs),
                            "--port", port], check=True, capture_output=True)  # fmt: skip
            with open(out) as f:
                total = next(int(line.split()[1]) for line in f if line.startswith("summary:"))
            counts[(mode, reqs)] = total
        off = (counts[("off", n)] - counts[("off", 0)]) / n
        on = (counts[("on", n)] - counts[("on", 0)]) / n
        print(f"instructions per request: telemetry off {off:,.0f}, on {on:,.0f}: "
              f"overhead {on - off:,.0f} instructions ({(on - off) / off:.1%}) per request, "
              f"reporter's encode+JSON+POST included ({n} requests, startup subtracted)")  # fmt: skip
    finally:
        sink_proc.kill()
        sink_proc.wait()


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("-n", type=int, default=20000, help="requests per round")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--instructions", action="store_true", help="count with callgrind")
    ap.add_argument("--count", choices=("off", "on"), help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.count:
        return _count(a.count, a.n, a.port)
    if a.instructions:
        return instructions(a.n)
    sink_proc = subprocess.Popen([sys.executable, "-c", SINK], stdout=subprocess.PIPE, text=True)
    try:
        assert sink_proc.stdout is not None
        port = int(sink_proc.stdout.readline())
        off = make_app(False, 2.0)
        on = make_app(False, 2.0)
        tel = Telemetry(Sink(f"http://127.0.0.1:{port}/ingest", "k", None, None), requests=True,
                        data=False, capacity=100_000)  # fmt: skip
        tel.start()
        on.telemetry = tel
        offs: list[float] = []
        ons: list[float] = []
        cpu0 = time.process_time()

        cpu_off: list[float] = []
        cpu_on: list[float] = []
        per_round = a.n * 5 + 1000

        async def alternate() -> None:  # one loop: the apps' run threads belong to it
            for _ in range(a.rounds):
                c0 = time.process_time()
                offs.append(await drive(off, a.n))
                c1 = time.process_time()
                ons.append(await drive(on, a.n))
                c2 = time.process_time()
                cpu_off.append((c1 - c0) / per_round * 1e6)
                cpu_on.append((c2 - c1) / per_round * 1e6)

        uvloop.run(alternate())
        time.sleep(2 * tel.flush_s)  # let the last batch go out before reading the counters
        m_off, m_on = statistics.median(offs), statistics.median(ons)
        total = a.rounds * per_round
        print(f"telemetry off {m_off:.2f} us/request, on {m_on:.2f} us/request: "
              f"overhead {m_on - m_off:.2f} us/request (median of {a.rounds} alternating rounds "
              f"of {a.n} x 5 requests; includes the reporter thread's encode+POST)")  # fmt: skip
        c_off, c_on = statistics.median(cpu_off), statistics.median(cpu_on)
        print(f"process CPU (all threads) off {c_off:.2f} us/request, on {c_on:.2f} us/request: "
              f"overhead {c_on - c_off:.2f} us/request")  # fmt: skip
        print(f"records sent {tel.sent} of {total}, dropped {tel.dropped}; "
              f"process CPU {time.process_time() - cpu0:.1f} s")  # fmt: skip
    finally:
        sink_proc.kill()
        sink_proc.wait()


if __name__ == "__main__":
    main()
