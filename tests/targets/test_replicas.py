"""Replicas on the local target: sharing a port, restarts, limits, logs, clean deletion."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import socket
import urllib.request
from pathlib import Path

import pytest

from modelport.errors import Conflict
from modelport.targets.local import LocalDriver
from modelport.targets.local import limits as local_limits

from .conftest import is_alive, kill9, make_spec, proc_status, replica_pids, wait_for

# what this host offers the local target (the cgroup v1 assertions run where v1 is writable)
HOST_CGROUPS = (
    "v2"
    if local_limits.cgroup_v2_writable()
    else "v1"
    if os.access("/sys/fs/cgroup/memory/cgroup.procs", os.W_OK)
    else "none"
)
ALLOC_SCRIPT = """
import json, time
import numpy as np
def init():
    pass
def run(raw):
    body = json.loads(raw)
    block = np.ones(body["mb"] * 2**20 // 8)  # touched: resident, not only reserved
    time.sleep(body.get("hold", 0))
    return {"mb": round(block.nbytes / 2**20)}
"""


def score(port: int, body: dict[str, object]) -> dict[str, object]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/score",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        result: dict[str, object] = json.loads(response.read())
        return result


def test_two_replicas_share_one_port_and_both_serve_digits(
    driver: LocalDriver, app_dir: Path
) -> None:
    port = driver.apply(make_spec(app_dir, "digits.py", replicas=2))
    rev = driver.wait_ready("ws/svc", 1, timeout=120)
    pids = {r.pid for r in rev.replicas}
    assert len(pids) == 2 and all(r.port == port for r in rev.replicas)
    seen: set[object] = set()

    def both_answered() -> bool:
        answer = score(port, {"data": [[0.0] * 64, [16.0] * 64]})  # a fresh connection each time
        assert len(answer["predictions"]) == 2  # type: ignore[arg-type]
        seen.add(answer["pid"])
        return seen == pids

    wait_for(both_answered, timeout=30, what="both replicas to answer on the shared port")


def test_killed_replica_is_restarted(driver: LocalDriver, app_dir: Path) -> None:
    port = driver.apply(make_spec(app_dir, replicas=2))
    first = driver.wait_ready("ws/svc", 1)
    victim = first.replicas[0]
    assert victim.pid is not None
    kill9(victim.pid)

    def restarted() -> bool:
        rev = driver.observe("ws/svc").revision(1)
        assert rev is not None
        replica = rev.replicas[0]
        return replica.ready and replica.pid != victim.pid and replica.restarts == 1

    wait_for(restarted, what="replica 0 to be restarted and ready")
    rev = driver.observe("ws/svc").revision(1)
    assert rev is not None and rev.cause is None
    assert rev.replicas[0].last_exit_code == -9
    assert rev.replicas[1].pid == first.replicas[1].pid  # the sibling was left alone
    assert score(port, {"x": 1})["input"] == {"x": 1}


def test_cpu_and_memory_limits_are_applied_and_reported(driver: LocalDriver, app_dir: Path) -> None:
    driver.apply(make_spec(app_dir, replicas=2, cpu_cores=0.5, memory_gb=1.5))
    rev = driver.wait_ready("ws/svc", 1)
    everyone = proc_status(os.getpid(), "Cpus_allowed_list")
    for replica in rev.replicas:
        assert replica.pid is not None and replica.limits is not None
        with open(f"/proc/{replica.pid}/limits") as f:
            line = next(x for x in f if x.startswith("Max address space"))
        assert line.split()[3:5] == ["unlimited"] * 2  # no RLIMIT_AS: numpy reserves far more
        if HOST_CGROUPS == "v1":
            assert replica.limits.method == "cgroup-v1"
            assert replica.limits.cpu_quota == 0.5 and replica.limits.cpus is None
            assert replica.limits.memory_bytes == int(1.5 * 2**30)
            # a quota, not a core: every replica may run on every CPU
            assert proc_status(replica.pid, "Cpus_allowed_list") == everyone
            groups = Path(f"/proc/{replica.pid}/cgroup").read_text()
            memory_group = next(g for g in replica.limits.notes if "/memory/" in g).split()[1]
            assert memory_group.endswith(f"modelport/ws.svc.rev-1.{replica.index}.{os.getpid()}")
            assert memory_group.split("/sys/fs/cgroup/memory")[1] in groups
            limit = (Path(memory_group) / "memory.limit_in_bytes").read_text().strip()
            assert int(limit) == int(1.5 * 2**30)
            cpu_group = next(g for g in replica.limits.notes if "/cpu/" in g).split()[1]
            assert (Path(cpu_group) / "cpu.cfs_quota_us").read_text().strip() == "50000"


def test_numpy_allocates_up_to_the_limit_and_going_over_is_oom_killed(
    driver: LocalDriver, app_dir: Path
) -> None:
    (app_dir / "alloc.py").write_text(ALLOC_SCRIPT)
    port = driver.apply(make_spec(app_dir, "alloc.py", memory_gb=0.5))
    first = driver.wait_ready("ws/svc", 1).replicas[0]
    # 200 MB of numpy under a 512 MiB limit (with RLIMIT_AS this failed far below the limit)
    assert score(port, {"mb": 200})["mb"] == 200
    with contextlib.suppress(OSError, http.client.HTTPException, ValueError):
        score(port, {"mb": 900})
    killed = wait_for(
        lambda: (r := driver.observe("ws/svc").revision(1)) and r.replicas[0].restarts >= 1 and r,
        what="the replica over its memory limit to be killed and restarted",
    )
    assert killed.replicas[0].pid != first.pid
    logs = driver.logs("ws/svc")
    assert "OOMKilled: " in logs and "restart in" in logs
    assert driver.wait_ready("ws/svc", 1).replicas[0].ready


def test_rss_watchdog_kills_over_the_limit_where_no_cgroup_is_writable(
    run_dir: Path, app_dir: Path, tmp_path: Path
) -> None:
    from .conftest import cleanup

    (app_dir / "alloc.py").write_text(ALLOC_SCRIPT)
    empty_root = tmp_path / "no-cgroups"
    empty_root.mkdir()
    drv = LocalDriver(run_dir, stop_grace=5.0, backoff_base=0.2, cgroup_root=empty_root)
    try:
        port = drv.apply(make_spec(app_dir, "alloc.py", memory_gb=0.5, cpu_cores=1))
        replica = drv.wait_ready("ws/svc", 1).replicas[0]
        assert replica.limits is not None and replica.limits.method == "affinity+rss-watchdog"
        assert score(port, {"mb": 100})["mb"] == 100
        with contextlib.suppress(OSError, http.client.HTTPException, ValueError):
            score(port, {"mb": 900, "hold": 5})
        wait_for(lambda: (r := drv.observe("ws/svc").revision(1)) and r.replicas[0].restarts >= 1,
                 what="the watchdog to kill the replica")  # fmt: skip
        logs = drv.logs("ws/svc")
        assert "OOMKilled: resident memory" in logs and "(RSS watchdog)" in logs
    finally:
        cleanup(drv)


def test_logs_show_each_replica_with_its_start_marker(driver: LocalDriver, app_dir: Path) -> None:
    driver.apply(make_spec(app_dir, replicas=2))
    driver.wait_ready("ws/svc", 1)
    text = wait_for(
        lambda: (t := driver.logs("ws/svc")).count("echo model loaded") == 2 and t,
        what="both init() prints in the logs",
    )
    assert "==> rev-1/replica-0.log <==" in text and "==> rev-1/replica-1.log <==" in text
    assert "=== modelport: " in text and "start #1 of replica-0" in text
    assert driver.logs("ws/svc", num_lines=1).count("\n") == 4  # 2 headers + 1 line each
    assert "echo model loaded" in "\n".join(driver.observe("ws/svc", log_lines=20).log_tail)


def test_delete_leaves_no_process_and_frees_the_port(driver: LocalDriver, app_dir: Path) -> None:
    port = driver.apply(make_spec(app_dir, replicas=2))
    rev = driver.wait_ready("ws/svc", 1)
    pids = [r.pid for r in rev.replicas]
    assert sorted(replica_pids(driver.run_dir)) == sorted(pids)
    driver.delete("ws/svc")
    assert replica_pids(driver.run_dir) == []
    assert not any(is_alive(pid) for pid in pids if pid)
    assert not driver.observe("ws/svc").exists
    assert not (driver.run_dir / "ws").exists()
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))  # nothing holds the port any more
        sock.listen()


def test_apply_is_idempotent_and_a_different_spec_for_a_revision_is_a_conflict(
    driver: LocalDriver, app_dir: Path
) -> None:
    spec = make_spec(app_dir)
    port = driver.apply(spec)
    assert driver.apply(spec) == port

    with pytest.raises(Conflict, match="apply a new revision"):
        driver.apply(make_spec(app_dir, replicas=3))
    # a new revision without a port keeps the service's port
    assert driver.apply(make_spec(app_dir, revision=2)) == port


def test_v1_aci_config_runs_as_limited_replicas_with_its_request_limits(
    driver: LocalDriver, app_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODELPORT_SERVER_SECRET", "s3cret")
    from modelport.specs import parse_deployment_config
    from modelport.targets.from_config import replica_set_spec

    from .conftest import PYTHON

    config = parse_deployment_config(
        {
            "computeType": "ACI",
            "containerResourceRequirements": {"cpu": 1, "memoryInGB": 1},
            "maxConcurrentRequestsPerContainer": 2,
            "scoringTimeoutMs": 5000,
        }
    )
    spec = replica_set_spec(config, service="ws/aci", revision=1, working_dir=str(app_dir),
                            argv=("--entry-script", "echo.py"), python=PYTHON)  # fmt: skip
    port = driver.apply(spec)
    replica = driver.wait_ready("ws/aci", 1).replicas[0]
    assert replica.pid is not None and replica.limits is not None
    assert replica.limits.memory_bytes == 2**30
    assert replica.limits.cpu_quota == 1 or len(replica.limits.cpus or ()) == 1
    with open(f"/proc/{replica.pid}/environ", "rb") as f:
        env = dict(item.split(b"=", 1) for item in f.read().split(b"\0") if b"=" in item)
    assert env[b"MODELPORT_MAX_CONCURRENT_REQUESTS"] == b"2"
    assert env[b"MODELPORT_SCORING_TIMEOUT_MS"] == b"5000"
    assert b"MODELPORT_SERVER_SECRET" not in env  # the server's own environment stays out
    assert score(port, {"a": 1})["revision"] == "1"


def test_cgroup_v2_hierarchy_is_used_when_writable(
    run_dir: Path, app_dir: Path, tmp_path: Path
) -> None:
    # A directory laid out like a writable cgroup v2 root (this machine mounts cgroup v1): the
    # driver's files and the replica joining cgroup.procs are real; the kernel's enforcement
    # of cpu.max/memory.max is what only a real cgroup2 mount adds.
    from .conftest import cleanup

    root = tmp_path / "cgroup"
    root.mkdir()
    (root / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    drv = LocalDriver(run_dir, stop_grace=5.0, cgroup_root=root)
    try:
        drv.apply(make_spec(app_dir, cpu_cores=0.5, memory_gb=0.25))
        replica = drv.wait_ready("ws/svc", 1).replicas[0]
        group = root / "modelport" / "ws.svc.rev-1.0"
        assert replica.limits is not None and replica.limits.method == "cgroup-v2"
        assert replica.limits.cpu_quota == 0.5 and replica.limits.memory_bytes == 2**28
        assert (group / "cpu.max").read_text() == "50000 100000"
        assert (group / "memory.max").read_text() == str(2**28)
        assert (group / "cgroup.procs").read_text() == str(replica.pid)
        assert (root / "cgroup.subtree_control").read_text() == "+cpu +memory"
        # no affinity or address-space limit on top of the cgroup
        assert proc_status(replica.pid or 0, "Cpus_allowed_list") == proc_status(
            os.getpid(), "Cpus_allowed_list"
        )
    finally:
        cleanup(drv)
