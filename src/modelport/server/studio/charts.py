"""Live charts of a service: requests/s, mean latency and errors/s from its replicas' ``/metrics``.

The studio keeps the last few minutes of samples per service in this process's memory (the
observability issue adds stored history); each sample is one scrape of the Prometheus text the
inference server writes. Rates come from counter differences between two scrapes of the same
replica process (``process_start_time_seconds`` tells replicas apart), so a restart or a scrape
answered by another replica never shows as a negative or a spike.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass

from markupsafe import Markup, escape

KEEP = 90  # samples per service (3 minutes at the page's 2 s refresh)
MAX_SERVICES = 200


@dataclass(frozen=True)
class Sample:
    at: float
    replica: float  # process_start_time_seconds: which replica process answered
    requests: float  # /score requests answered
    errors: float  # /score answers with status >= 400
    latency_sum: float
    latency_count: float


@dataclass(frozen=True)
class Point:
    at: float
    rps: float
    eps: float
    latency_ms: float | None


def parse(text: str, at: float) -> Sample:
    """The few series the charts need, from the Prometheus text format."""
    requests = errors = lat_sum = lat_count = start = 0.0
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name_labels, _, value_text = line.rpartition(" ")
        try:
            value = float(value_text)
        except ValueError:
            continue
        name, _, labels = name_labels.partition("{")
        if name == "modelport_requests_total" and 'route="score"' in labels:
            requests += value
            status = labels.split('status="', 1)[-1].split('"', 1)[0]
            if status.isdigit() and int(status) >= 400:
                errors += value
        elif name == "modelport_request_duration_seconds_sum":
            lat_sum = value
        elif name == "modelport_request_duration_seconds_count":
            lat_count = value
        elif name == "process_start_time_seconds":
            start = value
    return Sample(at, start, requests, errors, lat_sum, lat_count)


class History:
    """Recent samples per service, bounded in both directions."""

    def __init__(self) -> None:
        self._samples: dict[str, deque[Sample]] = {}

    def add(self, service: str, sample: Sample) -> None:
        if service not in self._samples and len(self._samples) >= MAX_SERVICES:
            self._samples.pop(next(iter(self._samples)))
        self._samples.setdefault(service, deque(maxlen=KEEP)).append(sample)

    def points(self, service: str) -> list[Point]:
        samples = list(self._samples.get(service, ()))
        last_of: dict[float, Sample] = {}
        out = []
        for s in samples:
            prev = last_of.get(s.replica)
            last_of[s.replica] = s
            if prev is None or s.at <= prev.at or s.requests < prev.requests:
                continue
            dt = s.at - prev.at
            count = s.latency_count - prev.latency_count
            latency = (s.latency_sum - prev.latency_sum) / count * 1000 if count > 0 else None
            out.append(
                Point(
                    s.at, (s.requests - prev.requests) / dt, (s.errors - prev.errors) / dt, latency
                )
            )
        return out


def sparkline(title: str, unit: str, values: list[float | None], colour: str) -> Markup:
    """A small inline SVG line chart with its title and the latest value."""
    width, height, pad = 300, 70, 4
    known = [v for v in values if v is not None]
    top = max(known, default=0.0) or 1.0
    n = max(len(values) - 1, 1)

    def xy(i: int, v: float) -> tuple[str, str]:
        return (
            f"{pad + i * (width - 2 * pad) / n:.1f}",
            f"{height - pad - v / top * (height - 2 * pad):.1f}",
        )

    drawn = [xy(i, v) for i, v in enumerate(values) if v is not None]
    points = " ".join(f"{x},{y}" for x, y in drawn)
    latest = f"{known[-1]:.3g} {unit}".strip() if known else "no data yet"
    # one sample cannot draw a line: mark it as a dot so the chart is never blank with data
    dots = "".join(f'<circle cx="{x}" cy="{y}" r="3" fill="{colour}"/>' for x, y in drawn[:1])
    if len(drawn) != 1:
        dots = ""
    peak = f"{max(known, default=0.0):.3g} {unit}".strip()
    label = escape(f"{title}: {latest}")
    return Markup(
        f'<figure class="chart"><figcaption>{escape(title)} <b>{escape(latest)}</b></figcaption>'
        f'<svg viewBox="0 0 {width} {height}" role="img" aria-label="{label}" '
        f'preserveAspectRatio="none"><rect class="chart-bg" width="{width}" height="{height}"/>'
        f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{points}"/>{dots}</svg>'
        f"<small>max {escape(peak)}, "
        f"last {len(values)} samples</small></figure>"
    )


def charts(points: list[Point]) -> list[Markup]:
    return [
        sparkline("Requests", "req/s", [p.rps for p in points], "#2563eb"),
        sparkline("Mean latency", "ms", [p.latency_ms for p in points], "#7c3aed"),
        sparkline("Errors", "err/s", [p.eps for p in points], "#dc2626"),
    ]


def now() -> float:
    return time.monotonic()
