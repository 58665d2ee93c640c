#!/usr/bin/env python3
"""Server CPU per request under wrk load, and where run() ran (loop or thread).

Starts one modelport server (digits model by default), warms it up, then for each connection
count runs wrk (post.lua) and reads the server process's CPU time (utime+stime of all its threads,
/proc/PID/stat) before and after: CPU µs per request is much steadier than req/s on a shared host.
Two configurations A/B in one run alternate (A B A B ...) so host drift hits both alike.

usage: bench/serving/profile/load_cpu.py [--script digits|noop] [-c 1,8,64] [-d 5] [--rounds 2]
           [--a "SERVER ARGS"] [--b "SERVER ARGS"] [--a-env K=V,..] [--b-env K=V,..]
           [--pin-server 0 --pin-wrk 1] [--header "Authorization: Bearer k"] [--https]
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import re
import shlex
import ssl
import subprocess
import sys
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common

POST_LUA = common.ROOT.parent / "shared" / "bench" / "post.lua"
TICK = os.sysconf("SC_CLK_TCK")


def cpu_s(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime (all threads)


def tree_cpu_s(pid: int) -> float:
    """The server and its --workers children."""
    total = cpu_s(pid)
    try:
        kids = pathlib.Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        kids = []
    return total + sum(tree_cpu_s(int(k)) for k in kids)


def polled_s(port: int, scheme: str) -> float:
    """The server's modelport_busy_poll_seconds_total: CPU spent polling between requests."""
    ctx = ssl._create_unverified_context() if scheme == "https" else None
    try:
        with urllib.request.urlopen(
            f"{scheme}://127.0.0.1:{port}/metrics", timeout=5, context=ctx
        ) as r:
            m = re.search(r"^modelport_busy_poll_seconds_total (\S+)$", r.read().decode(), re.M)
    except OSError:
        return 0.0
    return float(m.group(1)) if m else 0.0


def wrk(url: str, conc: int, dur: int, body_file: str, pin: str | None, headers: list[str]) -> dict:
    cmd = ["wrk", "-t1", f"-c{conc}", f"-d{dur}s", "--latency", "-s", str(POST_LUA)]
    for h in headers:
        cmd += ["-H", h]
    cmd += [url, "--", body_file]
    if pin:
        cmd = ["taskset", "-c", pin, *cmd]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    m = re.search(r"WRKJSON (\{.*\})", out)
    assert m, out
    return json.loads(m.group(1))


def run_config(
    label: str, a: argparse.Namespace, args: str, env: str, concs: list[int]
) -> list[str]:
    port = common.free_port()
    cmd, cwd = common.server_cmd(a.script, port, shlex.split(args))
    prefix = ["taskset", "-c", a.pin_server] if a.pin_server else []
    extra = dict(kv.split("=", 1) for kv in env.split(",") if kv)
    proc = common.start(cmd, cwd, a.model_dir, prefix=prefix, env_extra=extra)
    scheme = "https" if a.https else "http"
    rows = []
    try:
        common.wait_ready(port, proc, scheme=scheme)
        url = f"{scheme}://127.0.0.1:{port}/score"
        body_file = os.path.join(a.model_dir, "body_data.json")
        wrk(url, 8, 2, body_file, a.pin_wrk, a.header)  # warm-up (and opens the inline gate)
        for c in concs:
            p0 = polled_s(port, scheme)
            c0 = tree_cpu_s(proc.pid)
            r = wrk(url, c, a.d, body_file, a.pin_wrk, a.header)
            used = tree_cpu_s(proc.pid) - c0
            polled = polled_s(port, scheme) - p0
            n = r["requests"]
            errs = sum(r[k] for k in r if k.startswith("err_"))
            rows.append(f"{label:3} c={c:<3} {n / (r['duration_us'] / 1e6):8,.0f} req/s  "
                        f"cpu {used / n * 1e6:6.1f} µs/req (polling {polled / n * 1e6:5.1f})  "
                        f"p50 {r['p50_us'] / 1000:6.2f} "
                        f"p99 {r['p99_us'] / 1000:6.2f} ms  errors {errs}")  # fmt: skip
        try:
            m = (
                urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5)
                .read()
                .decode()
            )
            calls = re.findall(r'modelport_run_calls_total\{on="(\w+)"\} (\d+)', m)
            loop_stats = re.findall(r"^modelport_loop_(\w+)_total (\d+)", m, re.M)
            rows.append(f"{label:3} run() calls: {dict(calls)} loop: {dict(loop_stats)}")
        except OSError:
            pass
    finally:
        proc.terminate()
        proc.wait()
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--script", default="digits")
    ap.add_argument("-c", default="1,8,64")
    ap.add_argument("-d", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--a", default="")
    ap.add_argument("--b")
    ap.add_argument("--a-env", default="")
    ap.add_argument("--b-env", default="")
    ap.add_argument("--pin-server")
    ap.add_argument("--pin-wrk")
    ap.add_argument("--header", action="append", default=[])
    ap.add_argument("--https", action="store_true")
    ap.add_argument("--model-dir", default=os.environ.get("MODEL_DIR", "/tmp/hot15/m"))
    a = ap.parse_args()
    concs = [int(c) for c in a.c.split(",")]
    print(f"# load {os.getloadavg()} script {a.script} A={a.a!r} {a.a_env} B={a.b!r} {a.b_env}")
    for _ in range(a.rounds):
        for line in run_config("A", a, a.a, a.a_env, concs):
            print(line, flush=True)
        if a.b is not None:
            for line in run_config("B", a, a.b, a.b_env, concs):
                print(line, flush=True)
    print(f"# load {os.getloadavg()}")


if __name__ == "__main__":
    main()
