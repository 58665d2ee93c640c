"""Bounded connection floods on loopback, legitimate traffic measured alongside, and the figures
of the server under attack (open files, resident memory).

A ``Flood`` keeps ``count`` attack connections open to a port for as long as it runs, re-opening
each one the server closes (as an attacker would) and trickling a byte on each now and then, so
they never count as idle. Kinds: ``slowloris`` (a request head that never ends), ``held-body`` (a
whole head declaring a body that trickles), ``large-body`` (whole unauthenticated 8 MiB JSON
bodies, over and over, from a few connections).
"""

from __future__ import annotations

import contextlib
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.serving.conftest import Served, free_port, write_script

TRICKLE_SECONDS = 0.3


def heads(kind: str, path: str, extra: bytes = b"") -> tuple[bytes, bytes]:
    """What an attack connection sends first, and the byte it trickles afterwards."""
    if kind == "slowloris":
        return b"GET " + path.encode() + b" HTTP/1.1\r\nHost: x\r\n" + extra, b"a"
    if kind == "held-body":
        return (
            b"POST " + path.encode() + b" HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000000\r\n" + extra + b"\r\n{",
            b" ",
        )
    raise ValueError(kind)


class Flood(threading.Thread):
    def __init__(self, port: int, count: int, kind: str, path: str, extra: bytes = b"") -> None:
        super().__init__(daemon=True)
        self.port, self.count = port, count
        self.first, self.trickle = heads(kind, path, extra)
        self.stop_event = threading.Event()
        self.opened = self.closed_by_server = self.connect_failures = 0
        self.answers: Counter[str] = Counter()
        self.socks: list[socket.socket] = []

    def _open(self) -> socket.socket | None:
        try:
            s = socket.create_connection(("127.0.0.1", self.port), timeout=2)
            s.sendall(self.first)
        except OSError:
            self.connect_failures += 1
            return None
        s.setblocking(False)
        self.opened += 1
        return s

    def _closed(self, s: socket.socket) -> bool:
        try:
            data = s.recv(4096)
        except BlockingIOError:
            return False
        except OSError:
            data = b""
        if data:
            self.answers[data[9:12].decode("latin-1", "replace")] += 1
        self.closed_by_server += 1
        return True

    def run(self) -> None:
        socks = self.socks
        while not self.stop_event.is_set():
            for i, s in enumerate(list(socks)):
                if self._closed(s):
                    s.close()
                    socks[i] = None  # type: ignore[call-overload]
                else:
                    with contextlib.suppress(OSError):
                        s.send(self.trickle)
            socks[:] = [s for s in socks if s is not None]
            while len(socks) < self.count and not self.stop_event.is_set():
                s = self._open()
                if s is None:
                    break
                socks.append(s)
            self.stop_event.wait(TRICKLE_SECONDS)
        for s in socks:
            s.close()

    def stop(self) -> None:
        self.stop_event.set()
        self.join(timeout=30)


class LargeBodies(threading.Thread):
    """``clients`` connections each sending an unauthenticated 8 MiB JSON body, again and again."""

    def __init__(self, url: str, clients: int, size: int = 8 * 1024 * 1024) -> None:
        super().__init__(daemon=True)
        self.url, self.clients = url, clients
        self.body = b'{"tags": {"k": "' + b"v" * (size - 20) + b'"}}'
        self.stop_event = threading.Event()
        self.sent = 0
        self.statuses: Counter[int] = Counter()

    def _one(self) -> None:
        with httpx.Client(timeout=30) as c:
            while not self.stop_event.is_set():
                try:
                    r = c.post(self.url, content=self.body,
                               headers={"content-type": "application/json"})  # fmt: skip
                    self.statuses[r.status_code] += 1
                except httpx.HTTPError as exc:
                    self.statuses[type(exc).__name__] += 1  # type: ignore[index]
                self.sent += 1

    def run(self) -> None:
        threads = [threading.Thread(target=self._one, daemon=True) for _ in range(self.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    def stop(self) -> None:
        self.stop_event.set()
        self.join(timeout=60)


@dataclass(eq=False)
class Traffic(threading.Thread):
    """One legitimate client sending requests back to back, latencies and failures recorded."""

    call: Callable[[httpx.Client], httpx.Response]
    make_client: Callable[[], httpx.Client]
    expect: int = 200
    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        threading.Thread.__init__(self, daemon=True)
        self.stop_event = threading.Event()

    def run(self) -> None:
        with self.make_client() as client:
            while not self.stop_event.is_set():
                t0 = time.perf_counter()
                try:
                    r = self.call(client)
                    if r.status_code != self.expect:
                        self.failures.append(f"{r.status_code} {r.text[:200]}")
                except httpx.HTTPError as exc:
                    self.failures.append(repr(exc))
                self.latencies.append(time.perf_counter() - t0)
                self.stop_event.wait(0.02)

    def stop(self) -> None:
        self.stop_event.set()
        self.join(timeout=30)

    def summary(self) -> str:
        lat = sorted(self.latencies) or [0.0]
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
        return (f"{len(self.latencies)} requests, {len(self.failures)} failed, latency ms "
                f"p50 {statistics.median(lat) * 1000:.1f} p99 {p99 * 1000:.1f} "
                f"max {lat[-1] * 1000:.1f}")  # fmt: skip


class ProcWatch(threading.Thread):
    """Samples a process's open files and resident memory."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.stop_event = threading.Event()
        self.max_fds = 0
        self.rss_start_kb = rss_kb(pid)
        self.max_rss_kb = self.rss_start_kb

    def run(self) -> None:
        while not self.stop_event.is_set():
            with contextlib.suppress(OSError):
                self.max_fds = max(self.max_fds, len(os.listdir(f"/proc/{self.pid}/fd")))
                self.max_rss_kb = max(self.max_rss_kb, rss_kb(self.pid))
            self.stop_event.wait(0.1)

    def stop(self) -> None:
        self.stop_event.set()
        self.join(timeout=10)

    def summary(self) -> str:
        grown = (self.max_rss_kb - self.rss_start_kb) / 1024
        return f"server: at most {self.max_fds} open files, resident memory +{grown:.1f} MB"


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def limited(nofile: int) -> list[str]:
    """A command prefix lowering the open-file limit, to make exhaustion cheap to reach."""
    return ["prlimit", f"--nofile={nofile}:{nofile}", "--"]


def serve_limited(directory: Path, script: str, nofile: int, *args: str) -> tuple[Served, int]:
    """``python -m modelport.serving`` under a low open-file limit, with a private health port."""
    write_script(directory, script)
    port, health = free_port(), free_port()
    log_path = directory / f"server-{port}.log"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [*limited(nofile), sys.executable, "-m", "modelport.serving", "--port", str(port),
             "--health-port", str(health), "--entry-script", "score.py", *args],
            cwd=directory, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    served = Served(proc, port, log_path)
    served.wait_ready()
    return served, health


def under_attack(
    pid: int, attacks: list[threading.Thread], legit: list[Traffic], seconds: float
) -> ProcWatch:
    """Run ``attacks`` and ``legit`` together for ``seconds``; return the process figures."""
    watch = ProcWatch(pid)
    watch.start()
    for a in attacks:
        a.start()
    time.sleep(0.5)  # the flood builds up before the measured traffic starts (bounded wait)
    for t in legit:
        t.start()
    time.sleep(seconds)  # the measured window itself: a duration, not a synchronisation
    for t in legit:
        t.stop()
    for a in attacks:
        a.stop()  # type: ignore[attr-defined]
    watch.stop()
    return watch
