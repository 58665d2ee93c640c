#!/usr/bin/env python3
"""What request telemetry costs per /score request, in process: the same App with it off and on.

Drives ``App`` with ASGI messages on uvloop (bench/serving/app_overhead.py's harness) against an
entry script that returns a constant, alternating rounds of telemetry off / on so that a shared,
loaded machine slows both alike; the difference of the medians is the overhead. With it on, the
reporter thread really encodes and POSTs every batch to a sink in another process (a stand-in
for the workspace server answering 204), so its CPU and GIL share are in the figure too.

usage: python bench/telemetry_bench.py [-n 20000] [--rounds 7]
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


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("-n", type=int, default=20000, help="requests per round")
    ap.add_argument("--rounds", type=int, default=7)
    a = ap.parse_args()
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
