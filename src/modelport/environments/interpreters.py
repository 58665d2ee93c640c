"""Find the Python interpreters on this machine and pick one for an environment's python pin.

Interpreters are never downloaded (``UV_PYTHON_DOWNLOADS=never``): an environment uses one that
is installed here. Only interpreters that can run the serving runtime (modelport's
``Requires-Python``) are candidates.
"""

from __future__ import annotations

import functools
import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from packaging.specifiers import SpecifierSet

from modelport.environments.uvtool import uv_env, uv_path
from modelport.errors import UserError

MIN_PYTHON = (3, 11)  # modelport's Requires-Python; the serving runtime snapshot needs it


@dataclass(frozen=True)
class Interpreter:
    path: Path
    version: tuple[int, int, int]

    @property
    def version_str(self) -> str:
        return ".".join(map(str, self.version))


def current() -> Interpreter:
    base = Path(getattr(sys, "_base_executable", "") or sys.executable)
    v = sys.version_info
    return Interpreter(path=base, version=(v.major, v.minor, v.micro))


@functools.lru_cache(maxsize=1)
def available() -> tuple[Interpreter, ...]:
    """Installed CPython interpreters usable for environments, current one first, one per version."""
    found: dict[tuple[int, int, int], Interpreter] = {}
    cur = current()
    found[cur.version] = cur
    try:
        out = subprocess.run(
            [str(uv_path()), "python", "list", "--only-installed", "--output-format", "json"],
            capture_output=True,
            text=True,
            env=uv_env(),
            timeout=60,
            check=False,
        ).stdout
        entries = json.loads(out or "[]")
    except (OSError, subprocess.TimeoutExpired, json.JSONDecodeError):
        entries = []
    for e in entries:
        try:
            parts = e["version_parts"]
            version = (int(parts["major"]), int(parts["minor"]), int(parts["patch"]))
            if e.get("implementation", "cpython") != "cpython" or version[:2] < MIN_PYTHON:
                continue
            found.setdefault(version, Interpreter(Path(e["path"]), version))
        except (KeyError, TypeError, ValueError):
            continue
    return tuple(sorted(found.values(), key=lambda i: (i != cur, i.version)))


def select(pin: str | None, log: Callable[[str], None]) -> Interpreter:
    """The interpreter for a python pin: ``3.6.2``, ``3.11``, ``3`` or ``>=3.8,<3.12``.

    No pin: the current interpreter. A pin older than everything available here: the closest
    available, with a warning in the log. A pin newer than everything available: an error.
    """
    cur = current()
    if not pin:
        return cur
    if pin[0].isdigit():
        want = tuple(int(p) for p in pin.split(".")[:2])
        if cur.version[: len(want)] == want:
            return cur
        if len(want) == 2 and want < MIN_PYTHON and cur.version[:2] == MIN_PYTHON:
            # The usual v1 pin (3.6, 3.7): nothing older than the current interpreter can run the
            # serving runtime, so it is the closest; no need to look for others (that is slow).
            _warn(pin, cur, None, log)
            return cur
        same = [i for i in available() if i.version[: len(want)] == want]
        if same:
            return same[0]
        older = all(i.version[: len(want)] > want for i in available())
    else:
        allowed = SpecifierSet(pin)
        fits = [i for i in available() if allowed.contains(i.version_str)]
        if fits:
            return fits[0]  # available() lists the current interpreter first
        older = all(
            not allowed.contains(i.version_str) and _only_upper_bounds_fail(allowed, i)
            for i in available()
        )
    return _closest(pin, older, log)


def _only_upper_bounds_fail(allowed: SpecifierSet, interp: Interpreter) -> bool:
    v = interp.version_str
    return all(s.contains(v) for s in allowed if s.operator not in ("<", "<=", "==", "~="))


def _closest(pin: str, older: bool, log: Callable[[str], None]) -> Interpreter:
    usable = available()
    shown = ", ".join(sorted({i.version_str for i in usable}))
    if not older:
        raise UserError(
            f"The environment pins python{_op(pin)}{pin}, which is not installed here (available: "
            f"{shown}); install it or relax the pin. modelport does not download interpreters."
        )
    # The oldest available minor version; within it the current interpreter, else the newest patch.
    oldest = min(i.version[:2] for i in usable)
    closest = sorted((i for i in usable if i.version[:2] == oldest), key=lambda i: i.version)
    cur = current()
    chosen = cur if cur in closest else closest[-1]
    _warn(pin, chosen, shown, log)
    return chosen


def _warn(pin: str, chosen: Interpreter, shown: str | None, log: Callable[[str], None]) -> None:
    needs = f"modelport needs Python {'.'.join(map(str, MIN_PYTHON))}+"
    log(
        f"WARNING: the environment pins python{_op(pin)}{pin}, which is not available here "
        f"({needs}{f'; available: {shown}' if shown else ''}); "
        f"using Python {chosen.version_str}, the closest available."
    )


def _op(pin: str) -> str:
    return "=" if pin[0].isdigit() else ""
