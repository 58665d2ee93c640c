"""Prometheus metrics kept as plain counters on the event loop, rendered as text on /metrics.

No locks and no label objects on the hot path: every update happens on the loop thread.
"""

from __future__ import annotations

import os
import time
from bisect import bisect_left
from collections import defaultdict
from typing import Any

LATENCY_BUCKETS = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)


class Histogram:
    def __init__(self, buckets: tuple[float, ...]) -> None:
        self.buckets = buckets
        self.first = buckets[0]
        self.counts = [0] * (len(buckets) + 1)
        self.sum = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        counts = self.counts
        if value <= self.first:  # the fast requests this server is about: no bisect
            counts[0] += 1
        else:
            counts[bisect_left(self.buckets, value)] += 1
        self.sum += value
        self.count += 1

    def render(self, name: str, help_text: str, labels: str = "") -> list[str]:
        out = [f"# HELP {name} {help_text}", f"# TYPE {name} histogram"]
        cumulative = 0
        sep = "," if labels else ""
        for bound, n in zip(self.buckets, self.counts, strict=False):
            cumulative += n
            out.append(f'{name}_bucket{{{labels}{sep}le="{bound}"}} {cumulative}')
        out.append(f'{name}_bucket{{{labels}{sep}le="+Inf"}} {self.count}')
        suffix = f"{{{labels}}}" if labels else ""
        out.append(f"{name}_sum{suffix} {self.sum}")
        out.append(f"{name}_count{suffix} {self.count}")
        return out


class Metrics:
    def __init__(self) -> None:
        self.requests: defaultdict[tuple[str, int], int] = defaultdict(int)
        self.latency = Histogram(LATENCY_BUCKETS)
        self.run_time = Histogram(LATENCY_BUCKETS)
        self.batch_size = Histogram(BATCH_BUCKETS)
        self.batches: defaultdict[str, int] = defaultdict(int)
        self.rejected: defaultdict[str, int] = defaultdict(int)
        self.in_flight = 0
        self.queue_depth = 0  # set by admission control / the batcher
        self.ready = 0
        self.started = time.time()
        self.gate: Any = None  # the runner's InlineGate (inline_gate.py), for its counters
        self.busy_poll: Any = None  # the worker's BusyPoll (--busy-poll-us), for its counters

    def request_done(self, route: str, status: int, seconds: float) -> None:
        self.requests[(route, status)] += 1
        if route == "score":
            self.latency.observe(seconds)

    def render(self) -> bytes:
        lines: list[str] = [
            "# HELP modelport_requests_total HTTP requests answered, by route and status code.",
            "# TYPE modelport_requests_total counter",
        ]
        for (route, status), n in sorted(self.requests.items()):
            lines.append(f'modelport_requests_total{{route="{route}",status="{status}"}} {n}')
        lines += self.latency.render(
            "modelport_request_duration_seconds", "Time from request start to response for /score."
        )
        lines += self.run_time.render(
            "modelport_run_duration_seconds", "Time spent in run() per call."
        )
        lines += self.batch_size.render("modelport_batch_size", "Inputs per batched run() call.")
        lines += ["# HELP modelport_batches_total Batched run() calls, by why the batch was released.",
                  "# TYPE modelport_batches_total counter"]  # fmt: skip
        for reason, n in sorted(self.batches.items()):
            lines.append(f'modelport_batches_total{{reason="{reason}"}} {n}')
        lines += ["# HELP modelport_rejected_total Requests refused by admission control, by reason.",
                  "# TYPE modelport_rejected_total counter"]  # fmt: skip
        for reason, n in sorted(self.rejected.items()):
            lines.append(f'modelport_rejected_total{{reason="{reason}"}} {n}')
        if self.gate is not None:
            lines += ["# HELP modelport_run_calls_total run() calls, by where they ran (loop: inline).",
                      "# TYPE modelport_run_calls_total counter",
                      f'modelport_run_calls_total{{on="loop"}} {self.gate.loop_calls}',
                      f'modelport_run_calls_total{{on="thread"}} {self.gate.thread_calls}',
                      "# HELP modelport_loop_overruns_total Calls on the loop that overran the inline budget.",
                      "# TYPE modelport_loop_overruns_total counter",
                      f"modelport_loop_overruns_total {self.gate.overruns}",
                      "# HELP modelport_loop_preempted_total Calls on the loop over the inline budget "
                      "only because the loop thread was preempted (not counted as overruns).",
                      "# TYPE modelport_loop_preempted_total counter",
                      f"modelport_loop_preempted_total {self.gate.preempted}"]  # fmt: skip
        if self.busy_poll is not None:
            lines += ["# HELP modelport_busy_poll_total Idle periods after an answer, by whether polling "
                      "caught the next request or the worker went to sleep (--busy-poll-us).",
                      "# TYPE modelport_busy_poll_total counter",
                      f'modelport_busy_poll_total{{outcome="caught"}} {self.busy_poll.caught}',
                      f'modelport_busy_poll_total{{outcome="missed"}} {self.busy_poll.missed}',
                      "# HELP modelport_busy_poll_seconds_total Time spent polling after answers: CPU "
                      "used while no request was in flight (server CPU minus this is the work).",
                      "# TYPE modelport_busy_poll_seconds_total counter",
                      f"modelport_busy_poll_seconds_total {self.busy_poll.polled_s:.6f}",
                      "# HELP modelport_busy_poll_budget_seconds How long the worker polls after its "
                      "last answer now (adapts to the gaps between requests).",
                      "# TYPE modelport_busy_poll_budget_seconds gauge",
                      f"modelport_busy_poll_budget_seconds {self.busy_poll.budget:.6f}"]  # fmt: skip
        for name, kind, help_text, value in (
            (
                "modelport_requests_in_flight",
                "gauge",
                "Scoring requests being handled.",
                self.in_flight,
            ),
            (
                "modelport_queue_depth",
                "gauge",
                "Requests waiting for a run() slot.",
                self.queue_depth,
            ),
            ("modelport_ready", "gauge", "1 once init() has finished.", self.ready),
            (
                "process_resident_memory_bytes",
                "gauge",
                "Resident memory size in bytes.",
                _rss_bytes(),
            ),
            ("process_start_time_seconds", "gauge", "Start time since the epoch.", self.started),
        ):
            lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}", f"{name} {value}"]
        return ("\n".join(lines) + "\n").encode()


def _rss_bytes() -> int:
    try:
        with open(f"/proc/{os.getpid()}/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0
