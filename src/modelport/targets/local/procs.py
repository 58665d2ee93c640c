"""Reading the process table and socket table from /proc (Linux): identity, liveness, listeners."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass

_CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class ProcStat:
    state: str  # R, S, D, Z (zombie), X (dead), ...
    pgid: int
    start_ticks: int  # since boot; with the pid, identifies a process across pid reuse


def stat(pid: int) -> ProcStat | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read().decode(errors="replace")
    except OSError:
        return None
    rest = raw[raw.rfind(")") + 2 :].split()  # the command name may hold spaces and ')'
    return ProcStat(state=rest[0], pgid=int(rest[2]), start_ticks=int(rest[19]))


def is_running(pid: int, start_ticks: int | None = None) -> bool:
    """The process exists, is not a zombie and (if given) started at ``start_ticks``."""
    info = stat(pid)
    if info is None or info.state in ("Z", "X"):
        return False
    return start_ticks is None or info.start_ticks == start_ticks


def start_epoch(start_ticks: int) -> float:
    with open("/proc/stat") as f:
        btime = next(int(line.split()[1]) for line in f if line.startswith("btime "))
    return btime + start_ticks / _CLK_TCK


def cmdline(pid: int) -> list[str]:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return [p.decode(errors="replace") for p in f.read().split(b"\0") if p]
    except OSError:
        return []


def environ(pid: int) -> dict[str, str]:
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            items = f.read().split(b"\0")
    except OSError:
        return {}
    out = {}
    for item in items:
        key, sep, value = item.partition(b"=")
        if sep:
            out[key.decode(errors="replace")] = value.decode(errors="replace")
    return out


def all_pids() -> Iterator[int]:
    for name in os.listdir("/proc"):
        if name.isdigit():
            yield int(name)


def pids_with_env(key: str, value: str) -> list[int]:
    """Live processes whose environment has ``key=value`` (how replicas of a run dir are marked)."""
    needle = f"{key}={value}".encode()
    found = []
    for pid in all_pids():
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                if needle + b"\0" not in f.read() + b"\0":
                    continue
        except OSError:
            continue
        if is_running(pid):
            found.append(pid)
    return found


def _listen_inodes(port: int) -> set[int]:
    inodes: set[int] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    cols = line.split()
                    local, state, inode = cols[1], cols[3], int(cols[9])
                    if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:
                        inodes.add(inode)
        except OSError:
            continue
    return inodes


def port_listeners(port: int) -> dict[int, int | None]:
    """Listening sockets on ``port`` (any address): socket inode -> owning pid (None if unknown)."""
    owners: dict[int, int | None] = dict.fromkeys(_listen_inodes(port))
    if not owners:
        return owners
    wanted = {f"socket:[{inode}]": inode for inode in owners}
    for pid in all_pids():
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    inode = wanted.get(os.readlink(f"/proc/{pid}/fd/{fd}"))
                    if inode is not None:
                        owners[inode] = pid
    return owners


def describe(pid: int | None) -> str:
    if pid is None:
        return "a process this server cannot see"
    args = " ".join(cmdline(pid))[:160]
    return f"pid {pid} ({args})" if args else f"pid {pid}"
