#!/usr/bin/env python3
"""Instructions per /score request of a modelport server, counted by valgrind's callgrind.

The server runs under callgrind; after start-up and a warm-up the counters are zeroed
(callgrind_control -z), N requests are sent from this (unprofiled) process, and the counters are
dumped (callgrind_control -d). The count is the same run after run on a loaded host, unlike time.

usage: bench/serving/profile/callgrind_req.py [--script digits|noop|PATH] [-n 2000] [-c 1]
           [--model-dir DIR] [--keep FILE] [-- SERVER ARGS...]
       --inproc: the script's own init()/run() in a plain loop (the floor), no server.
Annotate a kept dump with: callgrind_annotate --inclusive=yes FILE | head -60
"""

from __future__ import annotations

import argparse
import glob
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common


def totals(path: str) -> dict[str, int]:
    """The dump's event totals by name (Ir first; cache misses with --cache-sim)."""
    names: list[str] = []
    with open(path) as f:
        for line in f:
            if line.startswith("events:"):
                names = line.split()[1:]
            m = re.match(r"(?:totals|summary):\s+([\d ]+)", line)
            if m:
                return dict(zip(names, map(int, m.group(1).split()), strict=False))
    raise SystemExit(f"no totals in {path}")


INPROC = """
import importlib.util, os, sys, time
spec = importlib.util.spec_from_file_location("score", sys.argv[1])
m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
m.init()
body = open(sys.argv[2]).read()
for _ in range(300): m.run(body)
open(sys.argv[3], "w").close()
while os.path.exists(sys.argv[3]): time.sleep(0.05)
for _ in range(int(sys.argv[4])): m.run(body)
open(sys.argv[3] + ".done", "w").close()
while True: time.sleep(1)
"""


def wait_for(path: str, proc: subprocess.Popen[bytes]) -> None:
    while not os.path.exists(path):
        if proc.poll() is not None:
            raise SystemExit(f"the profiled process exited with {proc.returncode}")
        time.sleep(0.2)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--script", default="digits")
    ap.add_argument("-n", type=int, default=2000)
    ap.add_argument("-c", type=int, default=1)
    ap.add_argument("--warmup", type=int, default=300)
    ap.add_argument("--model-dir", default=os.environ.get("MODEL_DIR", "/tmp/hot15/m"))
    ap.add_argument("--keep", help="copy the dump here (for callgrind_annotate)")
    ap.add_argument("--inproc", action="store_true")
    ap.add_argument(
        "--inproc-server",
        action="store_true",
        help="inproc_server.py (the request path without sockets); server args go to it",
    )
    ap.add_argument("--header", action="append", default=[], help="NAME:VALUE on every request")
    ap.add_argument("--https", action="store_true")
    ap.add_argument("--cache-sim", action="store_true", help="also count cache misses (D1, LL)")
    ap.add_argument("server_args", nargs="*")
    a = ap.parse_args()
    body = pathlib.Path(a.model_dir, "body_data.json").read_bytes()
    out = tempfile.mkdtemp(prefix="cg-")
    vg = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}/cg.%p"]
    if a.cache_sim:
        vg.append("--cache-sim=yes")
    if a.inproc_server:
        flag = os.path.join(out, "ready")
        here = os.path.dirname(os.path.abspath(__file__))
        proc = subprocess.Popen([*vg, common.PY, os.path.join(here, "inproc_server.py"), "--script",
                                 a.script, "-n", str(a.n), "--flag", flag, "--model-dir",
                                 a.model_dir, *a.server_args])  # fmt: skip
        wait_for(flag, proc)
        subprocess.run(["callgrind_control", "-z", str(proc.pid)], check=True, capture_output=True)
        os.unlink(flag)
        wait_for(flag + ".done", proc)
    elif a.inproc:
        flag = os.path.join(out, "ready")
        path = str(common.SCRIPTS.get(a.script, a.script))
        env = dict(os.environ, BENCH_MODEL_PATH=os.path.join(a.model_dir, "model.joblib"))
        proc = subprocess.Popen([*vg, common.PY, "-c", INPROC, path,
                                 os.path.join(a.model_dir, "body_data.json"), flag, str(a.n)],
                                env=env)  # fmt: skip
        while not os.path.exists(flag):
            time.sleep(0.2)
        subprocess.run(["callgrind_control", "-z", str(proc.pid)], check=True, capture_output=True)
        os.unlink(flag)
        while not os.path.exists(flag + ".done"):
            time.sleep(0.2)
    else:
        port = common.free_port()
        cmd, cwd = common.server_cmd(a.script, port, a.server_args)
        proc = common.start(cmd, cwd, a.model_dir, prefix=vg)
        scheme = "https" if a.https else "http"
        hdrs = dict(h.split(":", 1) for h in a.header)
        common.wait_ready(port, proc, scheme=scheme)
        common.send(port, body, a.warmup, a.c, hdrs, scheme)
        subprocess.run(["callgrind_control", "-z", str(proc.pid)], check=True, capture_output=True)
        common.send(port, body, a.n, a.c, hdrs, scheme)
    subprocess.run(["callgrind_control", "-d", str(proc.pid)], check=True, capture_output=True)
    if a.inproc_server:
        os.unlink(os.path.join(out, "ready.done"))  # it may exit now
    dumps = sorted(glob.glob(f"{out}/cg.{proc.pid}.*"), key=os.path.getmtime)
    proc.terminate()
    proc.wait()
    events = totals(dumps[-1])
    label = (
        "in-process run()"
        if a.inproc
        else "in-process server"
        if a.inproc_server
        else f"server c={a.c}"
    )
    print(f"{a.script} {label} {' '.join(a.server_args)}: {events['Ir'] / a.n:,.0f} instructions/request"
          f" ({a.n} requests)")  # fmt: skip
    misses = {k: v for k, v in events.items() if k.endswith(("mr", "mw"))}
    if misses:
        print("  per request: " + ", ".join(f"{k} {v / a.n:,.0f}" for k, v in misses.items()))
    if a.keep:
        shutil.copy(dumps[-1], a.keep)
    shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
