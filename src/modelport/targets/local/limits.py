"""Enforcing a replica's cpu/memory: cgroups v2 where writable, else CPU affinity and RLIMIT_AS.

The parent decides (``plan``); the launcher applies the plan in the child before exec, so the
limits hold from the first instruction of the replica and nothing runs between fork and exec.
"""

from __future__ import annotations

import contextlib
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

from modelport.targets.base import EnforcedLimits, Unschedulable

CGROUP_ROOT = Path("/sys/fs/cgroup")
# Python + numpy/scikit-learn + uvicorn map well over 1 GiB of address space before using much
# memory, so an address-space limit below this floor would stop replicas from starting at all.
ADDRESS_SPACE_FLOOR = 2**30


@dataclass(frozen=True)
class Plan:
    """What the launcher does in the child, and how it is reported."""

    cpus: tuple[int, ...] | None = None
    address_space: int | None = None
    cgroup: str | None = None  # cgroup v2 directory to join
    report: EnforcedLimits = field(default_factory=lambda: EnforcedLimits("none"))

    def to_json(self) -> dict[str, object]:
        return {
            "cpus": list(self.cpus) if self.cpus is not None else None,
            "address_space": self.address_space,
            "cgroup": self.cgroup,
        }


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
        return _plan_cgroup(cpu_cores, memory_gb, cgroup_root / "modelport" / group)
    return _plan_fallback(cpu_cores, memory_gb, replica_index)


def _plan_cgroup(cpu_cores: float | None, memory_gb: float | None, path: Path) -> Plan:
    try:
        # delegate cpu and memory down to modelport/<group> (root, then modelport/)
        (path.parent.parent / "cgroup.subtree_control").write_text("+cpu +memory")
        path.parent.mkdir(exist_ok=True)
        (path.parent / "cgroup.subtree_control").write_text("+cpu +memory")
        path.mkdir(parents=True, exist_ok=True)
        memory = None
        if cpu_cores is not None:
            period = 100_000
            (path / "cpu.max").write_text(f"{int(cpu_cores * period)} {period}")
        if memory_gb is not None:
            memory = int(memory_gb * 2**30)
            (path / "memory.max").write_text(str(memory))
    except OSError as exc:
        fallback = _plan_fallback(cpu_cores, memory_gb, 0)
        note = f"cgroup v2 not usable ({exc.strerror})"
        return Plan(
            fallback.cpus,
            fallback.address_space,
            None,
            EnforcedLimits(
                fallback.report.method,
                fallback.report.cpus,
                None,
                fallback.report.memory_bytes,
                (note, *fallback.report.notes),
            ),
        )
    report = EnforcedLimits("cgroup-v2", None, cpu_cores, memory, (f"cgroup {path}",))
    return Plan(cgroup=str(path), report=report)


def _plan_fallback(cpu_cores: float | None, memory_gb: float | None, replica_index: int) -> Plan:
    notes = []
    cpus = None
    if cpu_cores is not None:
        pool = available_cpus()
        count = min(len(pool), max(1, math.ceil(cpu_cores)))
        start = (replica_index * count) % len(pool)  # spread replicas over the cores
        cpus = tuple(sorted(pool[(start + i) % len(pool)] for i in range(count)))
        if count != cpu_cores:
            notes.append(f"{cpu_cores:g} cores asked: pinned to {count} whole core(s)")
    address_space = None
    if memory_gb is not None:
        asked = int(memory_gb * 2**30)
        address_space = max(asked, ADDRESS_SPACE_FLOOR)
        if address_space != asked:
            notes.append(
                f"{memory_gb:g} GB asked: address space limited to the "
                f"{ADDRESS_SPACE_FLOOR / 2**30:g} GiB floor"
            )
    report = EnforcedLimits("affinity+rlimit", cpus, None, address_space, tuple(notes))
    return Plan(cpus, address_space, None, report)


def remove_cgroup(path: str | None) -> None:
    if path:
        with contextlib.suppress(OSError):  # still has processes, or already gone
            os.rmdir(path)
