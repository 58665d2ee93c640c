"""Liveness tells "busy inside run()" from "hung": a long run() on the event loop is not killed.

The script's quick calls qualify run() for the event loop (serving/inline_gate.py); then
one call busy-loops in pure Python, so the replica's health port cannot answer. Before the busy
marker (serving/busy.py) the probe killed such a replica within seconds.
"""

from __future__ import annotations

import http.client
import json
import threading
from pathlib import Path
from typing import Any

from modelport.targets.base import LivenessProbe
from modelport.targets.local import LocalDriver

from .conftest import make_spec, wait_for

BUSY_SCRIPT = """
import json, time
def init():
    pass
def run(raw):
    seconds = json.loads(raw).get("busy", 0)
    t = time.monotonic()
    while time.monotonic() - t < seconds:
        pass
    return {"busy": seconds}
"""
QUICK_PROBE = LivenessProbe(period_seconds=0.5, timeout_seconds=0.5, failure_threshold=2)


def _score_after_warmup(port: int, seconds: float, out: dict[str, Any]) -> None:
    """40 quick calls on one connection (run() moves onto the loop), then one long call."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        for _ in range(40):
            conn.request("POST", "/score", body=b'{"busy": 0}')
            conn.getresponse().read()
        conn.request("POST", "/score", body=json.dumps({"busy": seconds}).encode())
        response = conn.getresponse()
        out["status"], out["body"] = response.status, response.read()
    except (OSError, http.client.HTTPException) as exc:
        out["error"] = repr(exc)
    finally:
        conn.close()


def test_long_run_is_busy_not_hung_and_one_over_its_timeout_is_killed_with_its_reason(
    driver: LocalDriver, app_dir: Path
) -> None:
    (app_dir / "busy.py").write_text(BUSY_SCRIPT)
    # a generous inline budget: on a loaded host 2 ms calls would keep run() on threads
    env = {"MODELPORT_DRAIN_GRACE": "0.5", "MODELPORT_GRACEFUL_TIMEOUT": "3",
           "MODELPORT_INLINE_RUN_BUDGET_MS": "200"}  # fmt: skip
    slow = make_spec(app_dir, "busy.py", service="ws/slow", liveness=QUICK_PROBE,
                     env={**env, "MODELPORT_SCORING_TIMEOUT_MS": "60000"})  # fmt: skip
    stuck = make_spec(app_dir, "busy.py", service="ws/stuck", liveness=QUICK_PROBE,
                      env={**env, "MODELPORT_SCORING_TIMEOUT_MS": "1000"})  # fmt: skip
    slow_port, stuck_port = driver.apply(slow), driver.apply(stuck)
    slow_pid = driver.wait_ready("ws/slow", 1).replicas[0].pid
    stuck_pid = driver.wait_ready("ws/stuck", 1).replicas[0].pid

    answers: dict[str, dict[str, Any]] = {"slow": {}, "stuck": {}}
    calls = [
        threading.Thread(target=_score_after_warmup, args=(slow_port, 15, answers["slow"])),
        threading.Thread(target=_score_after_warmup, args=(stuck_port, 600, answers["stuck"])),
    ]
    for call in calls:
        call.start()
    # a probe unanswered because run() holds the replica: busy, and still ready (Healthy)
    seen = wait_for(
        lambda: (r := driver.observe("ws/slow").revision(1)) and r.replicas[0].busy and r,
        what="the slow replica to be seen busy inside run()",
    )
    assert seen.ready and seen.replicas[0].ready and "status" not in answers["slow"]
    for call in calls:
        call.join(timeout=150)

    # 15 s inside run(), under the 60 s scoring timeout: answered by the same process
    assert answers["slow"].get("status") == 200, answers["slow"]
    rev = driver.observe("ws/slow").revision(1)
    assert rev is not None and rev.replicas[0].pid == slow_pid and rev.replicas[0].restarts == 0
    assert "busy inside run()" in driver.logs("ws/slow")

    # far over its 1 s timeout and not answering: killed and restarted, the reason in its log
    assert "error" in answers["stuck"] or answers["stuck"].get("status") != 200
    restarted = wait_for(
        lambda: (r := driver.observe("ws/stuck").revision(1)) and r.replicas[0].restarts >= 1 and r,
        what="the stuck replica to be restarted",
    )
    assert restarted.replicas[0].pid != stuck_pid
    logs = driver.logs("ws/stuck")
    assert "over the scoring timeout (1 s)" in logs and f"killing pid {stuck_pid}" in logs
    assert "exited (code -9): killed by the supervisor: run() has been running" in logs
