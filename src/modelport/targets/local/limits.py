"""Enforcing a replica's cpu/memory like a container: cgroups where writable, else a watchdog.

In order of preference, per resource:

- cgroup v2 (``cpu.max``, ``memory.max``) when the unified hierarchy has the controllers and is
  writable;
- cgroup v1 (``memory.limit_in_bytes``, ``cpu.cfs_quota_us``), nested under the server's own
  cgroup of each controller (so whatever limits the server also limits its replicas);
- memory: an RSS watchdog in the supervisor (the replica is killed and reported ``OOMKilled``);
  cpu: CPU affinity, spread by the replica's group name (no quota without a cgroup).

No address-space limit (RLIMIT_AS): numpy/BLAS reserve far more address space than they use, so
it made allocations fail far below the limit. The parent decides (``plan``); the launcher joins
the cgroups in the child before exec, so the limits hold from the replica's first instruction.
"""

from __future__ import annotations

import contextlib
import math
import os
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from modelport.targets.base import EnforcedLimits, Unschedulable

CGROUP_ROOT = Path("/sys/fs/cgroup")
CFS_PERIOD_US = 100_000


@dataclass(frozen=True)
class Plan:
    """What the launcher does in the child, what the supervisor watches, and the report."""

    cpus: tuple[int, ...] | None = None
    cgroups: tuple[str, ...] = ()  # directories the replica joins (cgroup.procs)
    rss_limit: int | None = None  # bytes; the supervisor's watchdog, when no memory cgroup
    memory_cgroup: str | None = None  # where the kernel counts OOM kills
    report: EnforcedLimits = field(default_factory=lambda: EnforcedLimits("none"))

    def to_json(self) -> dict[str, object]:
        return {
            "cpus": list(self.cpus) if self.cpus is not None else None,
            "cgroups": list(self.cgroups),
            "rss_limit": self.rss_limit,
            "memory_cgroup": self.memory_cgroup,
        }

    @classmethod
    def from_json(cls, data: dict[str, object], report: EnforcedLimits) -> Plan:
        cpus = data.get("cpus")
        groups = data.get("cgroups") or ([data["cgroup"]] if data.get("cgroup") else [])
        rss = data.get("rss_limit")
        memory = data.get("memory_cgroup")
        return cls(
            tuple(cpus) if isinstance(cpus, list) else None,
            tuple(str(g) for g in groups) if isinstance(groups, list) else (),
            int(rss) if isinstance(rss, int) else None,
            str(memory) if memory else None,
            report,
        )

    def oom_kills(self) -> int:
        """OOM kills the kernel counted in the replica's memory cgroup (v1 and v2 spell it alike)."""
        if not self.memory_cgroup:
            return 0
        for name in ("memory.events", "memory.oom_control"):
            with contextlib.suppress(OSError, ValueError):
                for line in (Path(self.memory_cgroup) / name).read_text().splitlines():
                    key, _, value = line.partition(" ")
                    if key == "oom_kill":
                        return int(value)
        return 0


def available_cpus() -> list[int]:
    return sorted(os.sched_getaffinity(0))


def mem_available_bytes() -> int:
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return 0


def check_schedulable(
    cpu_cores: float | None, memory_gb: float | None, replicas: int
) -> Unschedulable | None:
    """Unschedulable when the revision asks for more than this machine has free, else None."""
    cpus = len(available_cpus())
    if cpu_cores is not None and cpu_cores * replicas > cpus:
        return Unschedulable(
            f"{replicas} replica(s) x {cpu_cores:g} CPU cores = {cpu_cores * replicas:g} cores "
            f"asked, this machine has {cpus}"
        )
    if memory_gb is not None:
        free = mem_available_bytes()
        if memory_gb * replicas * 2**30 > free:
            return Unschedulable(
                f"{replicas} replica(s) x {memory_gb:g} GB = {memory_gb * replicas:g} GB asked, "
                f"{free / 2**30:.1f} GB available (MemAvailable)"
            )
    return None


def cgroup_v2_writable(root: Path = CGROUP_ROOT) -> bool:
    controllers = root / "cgroup.controllers"
    try:
        wanted = {"cpu", "memory"} <= set(controllers.read_text().split())
    except OSError:
        return False
    return wanted and os.access(root, os.W_OK)


def plan(
    cpu_cores: float | None,
    memory_gb: float | None,
    replica_index: int,
    group: str,
    cgroup_root: Path = CGROUP_ROOT,
) -> Plan:
    """Decide how to enforce the limits for one replica (``group`` names its cgroup)."""
    if cpu_cores is None and memory_gb is None:
        return Plan()
    if cgroup_v2_writable(cgroup_root):
        try:
            return _plan_v2(cpu_cores, memory_gb, cgroup_root / "modelport" / group)
        except OSError as exc:
            note = f"cgroup v2 not usable ({exc.strerror})"
            return _plan_v1_or_watchdog(cpu_cores, memory_gb, group, cgroup_root, note)
    return _plan_v1_or_watchdog(cpu_cores, memory_gb, group, cgroup_root, None)


def _plan_v2(cpu_cores: float | None, memory_gb: float | None, path: Path) -> Plan:
    # delegate cpu and memory down to modelport/<group> (root, then modelport/)
    (path.parent.parent / "cgroup.subtree_control").write_text("+cpu +memory")
    path.parent.mkdir(exist_ok=True)
    (path.parent / "cgroup.subtree_control").write_text("+cpu +memory")
    path.mkdir(parents=True, exist_ok=True)
    memory = None
    if cpu_cores is not None:
        (path / "cpu.max").write_text(f"{int(cpu_cores * CFS_PERIOD_US)} {CFS_PERIOD_US}")
    if memory_gb is not None:
        memory = int(memory_gb * 2**30)
        (path / "memory.max").write_text(str(memory))
    report = EnforcedLimits("cgroup-v2", None, cpu_cores, memory, (f"cgroup {path}",))
    return Plan(cgroups=(str(path),), memory_cgroup=str(path), report=report)


def _plan_v1_or_watchdog(
    cpu_cores: float | None,
    memory_gb: float | None,
    group: str,
    root: Path,
    note: str | None,
) -> Plan:
    """cgroup v1 per controller where writable; otherwise affinity (cpu) and the RSS watchdog."""
    methods: list[str] = []
    notes = [note] if note else []
    groups: list[str] = []
    cpus, quota, memory, rss_limit, memory_cgroup = None, None, None, None, None
    if cpu_cores is not None:
        path = _v1_group(root, "cpu", group)
        if (
            path is not None
            and _write(path, "cpu.cfs_period_us", str(CFS_PERIOD_US))
            and _write(path, "cpu.cfs_quota_us", str(max(1000, int(cpu_cores * CFS_PERIOD_US))))
        ):
            methods.append("cgroup-v1")
            groups.append(str(path))
            quota = cpu_cores
        else:
            cpus = _spread(cpu_cores, group)
            methods.append("affinity")
            notes.append(f"no writable cpu cgroup: {cpu_cores:g} cores asked, pinned to "
                         f"{len(cpus)} whole core(s)")  # fmt: skip
    if memory_gb is not None:
        memory = int(memory_gb * 2**30)
        path = _v1_group(root, "memory", group)
        if path is not None and _write(path, "memory.limit_in_bytes", str(memory)):
            _write(path, "memory.memsw.limit_in_bytes", str(memory))  # no swapping past it
            if "cgroup-v1" not in methods:
                methods.append("cgroup-v1")
            groups.append(str(path))
            memory_cgroup = str(path)
        else:
            rss_limit = memory
            methods.append("rss-watchdog")
    for path_text in groups:
        notes.append(f"cgroup {path_text}")
    report = EnforcedLimits("+".join(methods), cpus, quota, memory, tuple(notes))
    return Plan(cpus, tuple(groups), rss_limit, memory_cgroup, report)


def _own_path(controller: str) -> str:
    """The server's own cgroup (v1) for ``controller``, from /proc/self/cgroup."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, names, path = line.split(":", 2)
            if controller in names.split(","):
                return path.lstrip("/")
    return ""


def _v1_group(root: Path, controller: str, group: str) -> Path | None:
    """``<mount>/<server's cgroup>/modelport/<group>``, created; None when not writable."""
    mount = root / controller
    if not (mount / "cgroup.procs").exists():
        return None
    # the server's pid keeps two servers' (e.g. two test runs') replicas of one name apart
    path = mount / _own_path(controller) / "modelport" / f"{group}.{os.getpid()}"
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return path


def _write(path: Path, name: str, value: str) -> bool:
    try:
        (path / name).write_text(value)
    except OSError:
        return False
    return True


def _spread(cpu_cores: float, group: str) -> tuple[int, ...]:
    """Whole cores for the affinity fallback, starting where the group's name hashes to."""
    pool = available_cpus()
    count = min(len(pool), max(1, math.ceil(cpu_cores)))
    start = zlib.crc32(group.encode()) % len(pool)
    return tuple(sorted(pool[(start + i) % len(pool)] for i in range(count)))


def rss_bytes(pid: int) -> int | None:
    """Resident memory of a process (VmRSS), None when it is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        return None
    return None


def remove_cgroups(paths: tuple[str, ...]) -> None:
    for path in paths:
        with contextlib.suppress(OSError):  # still has processes, or already gone
            os.rmdir(path)
