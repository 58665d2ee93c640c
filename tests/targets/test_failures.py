"""Typed failure causes: init and import failures, port in use, crash loop, unschedulable, probes."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from modelport.targets.base import LivenessProbe, ObservedRevision
from modelport.targets.local import LocalDriver

from .conftest import hang_replica, make_spec, replica_pids, wait_for


def cause_of(driver: LocalDriver, code: str, revision: int = 1) -> ObservedRevision:
    def has_cause() -> ObservedRevision | None:
        rev = driver.observe("ws/svc").revision(revision)
        return rev if rev is not None and rev.cause is not None and rev.cause.code == code else None

    rev: ObservedRevision = wait_for(has_cause, what=f"cause {code}")
    return rev


def test_init_failure_is_typed_and_carries_the_log_lines(
    driver: LocalDriver, app_dir: Path
) -> None:
    driver.apply(make_spec(app_dir, "init_fails.py"))
    rev = cause_of(driver, "InitFailed")
    cause = rev.cause
    assert cause is not None
    assert cause.message == (
        "init() failed in replica 0 (exit code 3): ValueError: no model file at /nowhere/model.pkl"
    )
    assert any(line.startswith("Traceback") or "init() failed" in line for line in cause.details)
    assert "ValueError: no model file at /nowhere/model.pkl" in cause.details
    assert rev.replicas[0].last_exit_code == 3 and not rev.ready
    assert cause.to_error()["code"] == "InitFailed"
    assert any("loading the model" in line for line in driver.observe("ws/svc").log_tail)


def test_import_failure_is_told_apart_from_init_failure(driver: LocalDriver, app_dir: Path) -> None:
    driver.apply(make_spec(app_dir, "import_fails.py"))
    cause = cause_of(driver, "EntryScriptImportFailed").cause
    assert cause is not None
    assert cause.message == (
        "the entry script could not be loaded: "
        "ModuleNotFoundError: No module named 'nosuchpackage_xyz'"
    )
    assert "import nosuchpackage_xyz" in "\n".join(cause.details)


def test_port_held_by_another_process_is_port_in_use_until_freed(
    driver: LocalDriver, app_dir: Path
) -> None:
    squatter = socket.socket()
    squatter.bind(("127.0.0.1", 0))
    squatter.listen()
    port = squatter.getsockname()[1]
    try:
        assert driver.apply(make_spec(app_dir, port=port)) == port
        rev = cause_of(driver, "PortInUse")
        assert rev.cause is not None
        assert rev.cause.message.startswith(f"port {port} is already in use by pid {os.getpid()} (")
        assert replica_pids(driver.run_dir) == []  # nothing was started onto a foreign port
    finally:
        squatter.close()
    # once the port is free the revision is scheduled by itself
    assert driver.wait_ready("ws/svc", 1).replicas[0].port == port


def test_repeated_crashes_become_a_crash_loop(driver: LocalDriver, app_dir: Path) -> None:
    driver.apply(make_spec(app_dir, "dies.py"))
    first = cause_of(driver, "CrashedAtStart").cause
    assert first is not None
    assert first.message == "replica 0 exited with code 1 before it became ready"
    assert "about to die" in "\n".join(first.details)
    rev = cause_of(driver, "CrashLoop")
    assert rev.cause is not None
    assert rev.cause.message.startswith(
        "replica 0 crashed 3 times in a row (last: exited with code 1)"
    )
    assert rev.replicas[0].restarts >= 2


def test_more_cpu_or_memory_than_the_machine_has_is_unschedulable(
    driver: LocalDriver, app_dir: Path
) -> None:
    driver.apply(make_spec(app_dir, cpu_cores=float(os.cpu_count() or 1), replicas=3))
    rev = cause_of(driver, "Unschedulable")
    assert rev.cause is not None and "cores asked, this machine has" in rev.cause.message
    driver.apply(make_spec(app_dir, service="ws/big", memory_gb=1e6))
    big = wait_for(lambda: (r := driver.observe("ws/big").revision(1)) and r.cause and r)
    assert "GB available (MemAvailable)" in big.cause.message
    assert replica_pids(driver.run_dir) == []


def test_liveness_probe_kills_and_restarts_a_hung_replica(
    driver: LocalDriver, app_dir: Path
) -> None:
    probe = LivenessProbe(period_seconds=0.5, timeout_seconds=0.5, failure_threshold=2)
    port = driver.apply(make_spec(app_dir, "hangs.py", liveness=probe))
    first = driver.wait_ready("ws/svc", 1).replicas[0]
    assert first.health_port is not None
    hung = hang_replica(port, first.health_port)
    try:
        restarted = wait_for(
            lambda: (
                (r := driver.observe("ws/svc").revision(1)) and r.replicas[0].restarts >= 1 and r
            ),
            what="the hung replica to be killed and restarted",
        )
    finally:
        hung.close()
    replica = restarted.replicas[0]
    assert replica.pid != first.pid and replica.last_exit_code == -9
    assert driver.wait_ready("ws/svc", 1).replicas[0].ready


def test_missing_working_dir_is_crashed_at_start_not_a_supervisor_error(
    driver: LocalDriver, app_dir: Path
) -> None:
    driver.apply(make_spec(app_dir / "gone"))
    cause = cause_of(driver, "CrashedAtStart").cause
    assert cause is not None
    assert cause.message.startswith("replica 0 could not be started: [Errno 2]")
    assert replica_pids(driver.run_dir) == []


def test_port_taken_between_restarts_is_port_in_use_naming_the_taker(
    run_dir: Path, app_dir: Path
) -> None:
    from .conftest import cleanup, kill9

    slow = LocalDriver(run_dir, backoff_base=1.0, stop_grace=5.0)
    try:
        port = slow.apply(make_spec(app_dir))
        pid = slow.wait_ready("ws/svc", 1).replicas[0].pid
        assert pid is not None
        kill9(pid)
        wait_for(lambda: not slow.observe("ws/svc").revision(1).replicas[0].alive)  # type: ignore[union-attr]
        squatter = socket.socket()
        squatter.bind(("127.0.0.1", port))  # no SO_REUSEPORT: the replica cannot join
        squatter.listen()
        try:
            rev = wait_for(
                lambda: (
                    (r := slow.observe("ws/svc").revision(1))
                    and r.cause
                    and r.cause.code == "PortInUse"
                    and r
                ),
                what="PortInUse after the restart",
            )
            assert f"in use by pid {os.getpid()}" in rev.cause.message
            assert rev.replicas[0].last_exit_code == 5
        finally:
            squatter.close()
        assert slow.wait_ready("ws/svc", 1, timeout=60).replicas[0].port == port
    finally:
        cleanup(slow)


def test_retire_kills_a_replica_that_ignores_sigterm_after_the_grace(
    run_dir: Path, app_dir: Path
) -> None:
    import time

    from .conftest import cleanup, is_alive

    quick = LocalDriver(run_dir, stop_grace=1.0)
    try:
        port = quick.apply(make_spec(app_dir, "hangs.py", liveness=LivenessProbe(60, 30)))
        replica = quick.wait_ready("ws/svc", 1).replicas[0]
        pid, health = replica.pid, replica.health_port
        assert pid is not None and health is not None
        hung = hang_replica(port, health)
        started = time.monotonic()
        quick.retire("ws/svc", 1)
        assert time.monotonic() - started < 10
        assert not is_alive(pid)
        hung.close()
    finally:
        cleanup(quick)
