"""Machine-wide concerns of the local target: stray replica processes, tcp_migrate_req."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

from modelport.targets.local import procs
from modelport.targets.local.replica import RUN_DIR_ENV

log = logging.getLogger("modelport.targets.local")


def kill_strays(
    run_dir: Path,
    match: Callable[[dict[str, str]], bool],
    keep: Callable[[], set[int]] | None = None,
) -> None:
    """SIGKILL replicas of this run dir that no revision accounts for, and wait for them.

    ``keep()`` (the pids the driver knows) is asked after the scan: a replica started during it
    is known by then.
    """
    own_group = os.getpgid(0)
    strays = []
    found = procs.pids_with_env(RUN_DIR_ENV, str(run_dir))
    keep_pids = keep() if keep is not None and found else set()
    for pid in found:
        info = procs.stat(pid)
        if info is None or pid in keep_pids or info.pgid in keep_pids:
            continue
        if not match(procs.environ(pid)):
            continue
        strays.append(pid)
        log.warning("killing stray replica process %s", procs.describe(pid))
        # a replica leads its own group; anything else is killed alone
        group = info.pgid == pid and info.pgid != own_group
        with contextlib.suppress(OSError):
            os.killpg(pid, signal.SIGKILL) if group else os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while strays and time.monotonic() < deadline:
        for pid in strays:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)  # reap it if it was our child
        strays = [pid for pid in strays if procs.is_running(pid)]
        time.sleep(0.02)


def enable_tcp_migrate_req() -> bool:
    """Let a closing listener's queued connections move to a sibling replica (Linux ≥ 5.14)."""
    path = Path("/proc/sys/net/ipv4/tcp_migrate_req")
    try:
        if path.read_text().strip() != "1":
            path.write_text("1")
        enabled = path.read_text().strip() == "1"
    except OSError as exc:
        log.warning("net.ipv4.tcp_migrate_req could not be set (%s): connections queued on a "
                    "retiring replica may be reset", exc.strerror)  # fmt: skip
        return False
    log.info("net.ipv4.tcp_migrate_req=1: queued connections of a retiring replica migrate")
    return enabled
