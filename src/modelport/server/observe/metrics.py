"""Metrics across replicas: the server scrapes every replica's /metrics (its private health port)
and keeps a short history per service; ``/api/v1/metrics`` re-exposes every replica's figures
with workspace/service/revision/replica labels, so Prometheus scrapes one endpoint.

A point of history is the change between two scrapes, summed over the service's replicas:
requests/s, p50/p95/p99 latency (from the duration histogram's buckets), errors (5xx), 503
(queue rejections), 504 (timeouts), in-flight requests, replica restarts. A replica whose
counters went down restarted: its current value is the change.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import httpx

from modelport.server.context import ServerContext
from modelport.server.observe.settings import ObserveSettings

log = logging.getLogger("modelport.server.metrics")
_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
SCRAPED_STATES = ("Healthy", "Unhealthy", "Transitioning", "Failed")


def parse(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Prometheus text → {(name, sorted labels): value}."""
    out: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        if m is None:
            continue
        labels = tuple(sorted(_LABEL.findall(m.group(3) or "")))
        try:
            out[(m.group(1), labels)] = float(m.group(4))
        except ValueError:
            continue
    return out


@dataclass
class ReplicaScrape:
    revision: int
    replica: str
    pid: int | None
    text: str
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float]


@dataclass
class ServiceHistory:
    points: deque[dict[str, Any]]
    latest: list[ReplicaScrape] = field(default_factory=list)
    previous: dict[tuple[int, str, int | None], dict[Any, float]] = field(default_factory=dict)
    last_time: float | None = None


def _score(samples: dict[Any, float]) -> dict[str, Any]:
    """The /score figures of one replica's scrape."""
    by_status: dict[int, float] = {}
    buckets: dict[float, float] = {}
    for (name, labels), value in samples.items():
        lab = dict(labels)
        if name == "modelport_requests_total" and lab.get("route") == "score":
            by_status[int(lab.get("status", "0"))] = (
                by_status.get(int(lab.get("status", "0")), 0.0) + value
            )
        elif name == "modelport_request_duration_seconds_bucket":
            le = lab.get("le", "+Inf")
            buckets[float("inf") if le == "+Inf" else float(le)] = value
    return {"status": by_status, "buckets": buckets}


def _quantile(buckets: dict[float, float], q: float) -> float | None:
    """The q-quantile (seconds) of a cumulative histogram's counts, interpolated in its bucket."""
    bounds = sorted(buckets)
    total = buckets.get(float("inf"), max(buckets.values(), default=0.0))
    if total <= 0:
        return None
    rank, lower, below = q * total, 0.0, 0.0
    for b in bounds:
        count = buckets[b]
        if count >= rank:
            if b == float("inf"):
                return lower
            width = count - below
            return lower + (b - lower) * ((rank - below) / width if width > 0 else 1.0)
        lower, below = b, count
    return lower


class Scraper:
    def __init__(self, ctx: ServerContext, settings: ObserveSettings) -> None:
        self.ctx = ctx
        self.settings = settings
        self.history: dict[tuple[str, str], ServiceHistory] = {}
        self.lock = threading.Lock()
        self.http = httpx.Client(timeout=2.0)
        # a replica process that started after this moment is counted from its first request;
        # one that was already running (adopted after a server restart) starts as a baseline
        self.started = time.time()

    def run(self, stopping: threading.Event) -> None:
        while not stopping.wait(self.settings.metrics_scrape_s):
            try:
                self.scrape_all()
            except Exception:  # the next round tries again
                log.exception("scraping replicas failed")
        self.http.close()

    def _services(self) -> list[tuple[str, str, int]]:
        from sqlalchemy import select

        from modelport.server.store.services import Service

        with self.ctx.store.read() as s:
            rows = s.execute(
                select(Service.workspace, Service.name, Service.id).where(
                    Service.state.in_(SCRAPED_STATES)
                )
            )
            return [(w, n, i) for w, n, i in rows]

    def scrape_all(self) -> None:
        from modelport.server.deploy.driver import service_key

        driver = self.ctx.deploy.driver.driver
        alive: set[tuple[str, str]] = set()
        for ws, name, _ in self._services():
            try:
                observed = driver.observe(service_key(ws, name), log_lines=0)
            except Exception:  # a service the driver does not know (another target, being deleted)
                continue
            alive.add((ws, name))
            scrapes: list[ReplicaScrape] = []
            restarts = 0
            ready = 0
            for rev in observed.revisions:
                for r in rev.replicas:
                    restarts += r.restarts
                    ready += int(r.ready)
                    if not r.alive or r.health_port is None:
                        continue
                    try:
                        text = self.http.get(f"http://127.0.0.1:{r.health_port}/metrics").text
                    except httpx.HTTPError:
                        continue
                    scrapes.append(
                        ReplicaScrape(rev.revision, str(r.index), r.pid, text, parse(text))
                    )
            self._record(ws, name, scrapes, restarts, ready)
        with self.lock:
            for key in set(self.history) - alive:
                del self.history[key]

    def _record(
        self, ws: str, name: str, scrapes: list[ReplicaScrape], restarts: int, ready: int
    ) -> None:
        now = time.time()
        with self.lock:
            h = self.history.get((ws, name))
            if h is None:
                h = self.history[(ws, name)] = ServiceHistory(
                    deque(maxlen=self.settings.metrics_history_points)
                )
            status: dict[int, float] = {}
            buckets: dict[float, float] = {}
            in_flight = 0.0
            current: dict[tuple[int, str, int | None], dict[Any, float]] = {}
            fresh_since: list[float] = []
            for sc in scrapes:
                key = (sc.revision, sc.replica, sc.pid)
                prev = h.previous.get(key)
                if prev is None:
                    prev = {}
                    began = sc.samples.get(("process_start_time_seconds", ()), 0.0)
                    if began >= self.started:  # watched from its start: count every request
                        prev = {k: 0.0 for k in sc.samples}
                        fresh_since.append(began)
                current[key] = sc.samples
                for sample, value in sc.samples.items():
                    if sample[0] == "modelport_requests_in_flight":
                        in_flight += value
                delta = {k: (v - prev[k] if k in prev and v >= prev[k] else (v if prev else 0.0))
                         for k, v in sc.samples.items()}  # fmt: skip
                figures = _score(delta)
                for code, n in figures["status"].items():
                    status[code] = status.get(code, 0.0) + n
                for b, n in figures["buckets"].items():
                    buckets[b] = buckets.get(b, 0.0) + n
            last = h.last_time if h.last_time is not None else min(fresh_since, default=None)
            dt = now - last if last is not None else None
            h.previous, h.latest, h.last_time = current, scrapes, now
            if dt is None or dt <= 0:
                return  # the first scrape of replicas already running is the baseline
            total = sum(status.values())
            point: dict[str, Any] = {
                "time": now,
                "requestsPerSecond": round(total / dt, 3),
                "requests": int(total),
                "errors": int(sum(n for c, n in status.items() if c >= 500)),
                "rejected503": int(status.get(503, 0)),
                "timeouts504": int(status.get(504, 0)),
                "inFlight": int(in_flight),
                "restarts": restarts,
                "readyReplicas": ready,
                "replicas": len(scrapes),
            }
            for q, label in ((0.5, "p50Ms"), (0.95, "p95Ms"), (0.99, "p99Ms")):
                seconds = _quantile(buckets, q) if total else None
                point[label] = None if seconds is None else round(seconds * 1000, 3)
            h.points.append(point)

    def points(self, ws: str, name: str, since: float | None) -> list[dict[str, Any]]:
        with self.lock:
            h = self.history.get((ws, name))
            return [dict(p) for p in (h.points if h else ()) if since is None or p["time"] >= since]

    def exposition(self) -> str:
        """Every replica's latest scrape, labelled, one HELP/TYPE per family."""
        with self.lock:
            items = [(ws, name, list(h.latest)) for (ws, name), h in sorted(self.history.items())]
        families: dict[str, tuple[list[str], list[str]]] = {}
        for ws, name, scrapes in items:
            for sc in scrapes:
                extra = (f'workspace="{_esc(ws)}",service="{_esc(name)}",'
                         f'revision="{sc.revision}",replica="{sc.replica}"')  # fmt: skip
                _relabel(sc.text, extra, families)
        lines: list[str] = []
        for head, samples in families.values():
            lines += head + samples
        return "\n".join(lines) + ("\n" if lines else "")


def _esc(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def _relabel(text: str, extra: str, families: dict[str, tuple[list[str], list[str]]]) -> None:
    family = ""
    for line in text.splitlines():
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            family = line.split()[2]
            head, _ = families.setdefault(family, ([], []))
            if line not in head:
                head.append(line)
            continue
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        if m is None:
            continue
        labels = f"{extra},{m.group(3)}" if m.group(3) else extra
        families.setdefault(family or m.group(1), ([], []))[1].append(
            f"{m.group(1)}{{{labels}}} {m.group(4)}"
        )
