#!/usr/bin/env python3
"""What waking the client costs the server on this host, with no server in the way.

At one connection every answer wakes the load generator, asleep on the other CPU. This measures,
in one process pinned to CPU 0 with a reader process pinned to CPU 1 (like wrk):

1. a 100-byte send() to a socket whose reader is asleep (it must be woken: on a VM an
   inter-processor interrupt, which exits to the host) against one whose reader is awake;
2. the digits script's run() (the azureml peer's score.py, unchanged) right after each of: nothing,
   a 70 µs spin, a 70 µs spin in epoll(0) calls (the busy-poll), a 70 µs sleep, and a wake-up
   send followed by the 70 µs busy-poll — how much colder the next request's own work runs.

usage: bench/serving/profile/wake_cost.py [--model-dir /tmp/hot15/m] [-n 5000]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import select
import socket
import statistics
import sys
import time
from collections.abc import Callable

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common

GAP_S = 70e-6  # about the idle gap between an answer and the next request at c=1


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model-dir", default=os.environ.get("MODEL_DIR", "/tmp/hot15/m"))
    ap.add_argument("-n", type=int, default=5000)
    a = ap.parse_args()
    os.sched_setaffinity(0, {0})
    os.environ["BENCH_MODEL_PATH"] = os.path.join(a.model_dir, "model.joblib")
    spec = importlib.util.spec_from_file_location("score", common.SCRIPTS["digits"])
    assert spec and spec.loader
    score = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(score)
    score.init()
    with open(os.path.join(a.model_dir, "body_data.json"), "rb") as f:
        body = f.read().decode()

    reader, writer = socket.socketpair()
    if os.fork() == 0:  # the client: asleep in recv() until woken, on the other CPU
        os.sched_setaffinity(0, {1})
        writer.close()
        while reader.recv(65536):
            pass
        os._exit(0)
    reader.close()
    ep = select.epoll()
    idle_a, _idle_b = socket.socketpair()
    ep.register(idle_a, select.EPOLLIN)
    pc = time.perf_counter

    def spin() -> None:
        end = pc() + GAP_S
        while pc() < end:
            pass

    def busy_poll() -> None:
        end = pc() + GAP_S
        while pc() < end:
            ep.poll(0)

    def sleep() -> None:
        time.sleep(GAP_S)

    def wake_then_poll() -> None:
        writer.send(b"x" * 100)
        busy_poll()

    def median_us(samples: list[float]) -> float:
        return statistics.median(samples) * 1e6

    def timed_send(gap: Callable[[], None]) -> float:
        out = []
        for _ in range(a.n):
            gap()
            t0 = pc()
            writer.send(b"x" * 100)
            out.append(pc() - t0)
        return median_us(out)

    print(
        f"send() of 100 B, reader asleep (after a 100 µs gap): {timed_send(lambda: time.sleep(1e-4)):6.1f} µs"
    )
    print(f"send() of 100 B, reader busy (back to back):        {timed_send(lambda: None):6.1f} µs")
    before: list[tuple[str, Callable[[], None]]] = [
        ("nothing", lambda: None),
        ("a 70 µs spin", spin),
        ("a 70 µs busy-poll (epoll(0) calls)", busy_poll),
        ("a 70 µs sleep", sleep),
        ("a wake-up send, then a 70 µs busy-poll", wake_then_poll),
    ]
    for label, gap in before:
        out = []
        for i in range(a.n + 500):
            gap()
            t0 = pc()
            json.dumps(score.run(body))
            if i >= 500:
                out.append(pc() - t0)
        print(f"run() after {label:40s} {median_us(out):6.1f} µs (median of {a.n})")
    writer.close()
    os.wait()


if __name__ == "__main__":
    main()
