"""Old pins of v1 environments: find every pin that cannot install here, and the nearest that can.

Real v1 conda files pin ``numpy=1.19.5`` or ``scikit-learn==0.24.1``: versions without wheels for
the interpreters modelport runs on (3.11+). Instead of failing one pin at a time, one
``uv pip compile --resolution lowest-direct --no-deps`` over ``name>=pinned`` gives, for every
pinned package at once, the lowest version at or above the pin that installs on the interpreter:
the nearest installable version. A pin whose nearest is not the pinned version cannot install.
Relaxing (opt-in: ``MODELPORT_RELAX_PINS=true`` in the environment's variables or the builder's)
replaces exactly those pins by ``==nearest`` and logs each change.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from modelport.environments.interpreters import Interpreter
from modelport.environments.uvtool import run_uv

RELAX_VARIABLE = "MODELPORT_RELAX_PINS"
_FLOOR_OPERATORS = ("==", "===", "~=", ">=")


@dataclass(frozen=True)
class PinProblem:
    line: str  # the requirement as the user wrote it
    name: str
    nearest: str | None  # the nearest version that installs here, None when none does

    def describe(self) -> str:
        near = f"nearest that installs: {self.nearest}" if self.nearest else "no version installs"
        return f"{self.line} ({near})"

    def relaxed(self) -> str:
        req = Requirement(self.line)
        extras = f"[{','.join(sorted(req.extras))}]" if req.extras else ""
        marker = f"; {req.marker}" if req.marker else ""
        return f"{req.name}{extras}=={self.nearest}{marker}"


def relax_requested(environment_variables: Mapping[str, str] | None = None) -> bool:
    """Opted in through the environment's variables or the builder's own environment."""
    value = (environment_variables or {}).get(RELAX_VARIABLE) or os.environ.get(RELAX_VARIABLE)
    return str(value or "").strip().lower() in ("1", "true", "yes", "on")


def _floor(req: Requirement) -> str | None:
    """The version a pin starts at (``==1.19.5``, ``==1.6.*``, ``~=1.2``, ``>=0.24``)."""
    for spec in req.specifier:
        if spec.operator in _FLOOR_OPERATORS:
            version = spec.version.removesuffix(".*")
            try:
                Version(version)
            except InvalidVersion:
                return None
            return version
    return None


def _pinned(lines: Iterable[str]) -> dict[str, tuple[str, Requirement, str]]:
    """name -> (line, requirement, floor) for the requirements that pin a version."""
    out: dict[str, tuple[str, Requirement, str]] = {}
    for line in lines:
        if line.startswith("-"):
            continue
        try:
            req = Requirement(line)
        except InvalidRequirement:
            continue
        floor = _floor(req)
        if floor is not None and req.url is None:
            out[canonicalize_name(req.name)] = (line, req, floor)
    return out


def _compile_floors(names: list[str], floors: Mapping[str, str], interp: Interpreter,
                    log: Callable[[str], None]) -> dict[str, str] | None:  # fmt: skip
    text = "".join(f"{n}>={floors[n]}\n" for n in names)
    with tempfile.TemporaryDirectory(prefix="modelport-pins-") as tmp:
        (Path(tmp) / "pins.in").write_text(text, encoding="utf-8")
        args = ["pip", "compile", "pins.in", "--python", str(interp.path), "--no-header",
                "--no-annotate", "--no-deps", "--resolution", "lowest-direct",
                "--only-binary", ":all:"]  # fmt: skip
        result = run_uv(args, log, cwd=Path(tmp), log_stdout=False)
    if result.returncode != 0:
        return None
    found: dict[str, str] = {}
    for row in result.stdout.splitlines():
        m = re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==(\S+)", row.strip())
        if m:
            found[canonicalize_name(m.group(1))] = m.group(2)
    return found


def unsatisfiable(
    lines: Iterable[str], interp: Interpreter, log: Callable[[str], None]
) -> list[PinProblem]:
    """Every pin that cannot install on ``interp``, each with its nearest installable version."""
    pinned = _pinned(lines)
    if not pinned:
        return []
    floors = {name: floor for name, (_, _, floor) in pinned.items()}
    names = sorted(pinned)
    nearest = _compile_floors(names, floors, interp, log)
    if nearest is None:  # one of them has nothing at all: ask for each alone
        nearest = {}
        for name in names:
            nearest.update(_compile_floors([name], floors, interp, log) or {})
    problems = []
    for name in names:
        line, req, _ = pinned[name]
        version = nearest.get(name)
        if version is None or not req.specifier.contains(version, prereleases=True):
            problems.append(PinProblem(line, req.name, version))
    return problems


def message(problems: list[PinProblem], interp: Interpreter) -> str:
    listed = "; ".join(p.describe() for p in problems)
    can_relax = all(p.nearest for p in problems)
    relax = (
        f" Set {RELAX_VARIABLE}=true (in the environment's environmentVariables, or where the "
        "build runs) to use those versions instead; the build log lists each change."
        if can_relax
        else ""
    )
    return (
        f"{len(problems)} pinned package(s) cannot install on Python {interp.version_str} "
        f"({interp.path}): {listed}. Relax the pins.{relax}"
    )


def relax(
    lines: Iterable[str], problems: list[PinProblem], log: Callable[[str], None]
) -> list[str]:
    """The requirement lines with each unsatisfiable pin replaced by its nearest version."""
    by_line = {p.line: p for p in problems if p.nearest}
    out = []
    for line in lines:
        problem = by_line.get(line)
        if problem is None:
            out.append(line)
            continue
        new = problem.relaxed()
        log(f"Relaxed pin ({RELAX_VARIABLE}): {line} -> {new}")
        out.append(new)
    return out
