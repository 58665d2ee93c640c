"""Find the Python interpreters on this machine and pick one for an environment's python pin.

Interpreters are never downloaded (``UV_PYTHON_DOWNLOADS=never``): an environment uses one that
is installed here. Only interpreters that can run the serving runtime (modelport's
``Requires-Python``) are candidates.

When the environment's replicas will run as a service's own user (a root server,
``targets/local/isolation.py``), the interpreter must be one other users can reach: pyenv's under
``/root`` is not. ``select(..., shared=True)`` then swaps the chosen interpreter for a reachable
one of the same minor version (same ABI, so the same cp3XY wheels and lock), found by looking at
the permissions of every directory on its path, not by name.
"""

from __future__ import annotations

import functools
import json
import os
import stat
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
    for interp in _installed():
        found.setdefault(interp.version, interp)
    return tuple(sorted(found.values(), key=lambda i: (i != cur, i.version)))


@functools.lru_cache(maxsize=1)
def _installed() -> tuple[Interpreter, ...]:
    """Every installed CPython 3.11+ uv finds (several paths may share a version)."""
    found: list[Interpreter] = []
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
            found.append(Interpreter(Path(e["path"]), version))
        except (KeyError, TypeError, ValueError):
            continue
    return tuple(found)


def select(pin: str | None, log: Callable[[str], None], shared: bool = False) -> Interpreter:
    """The interpreter for a python pin: ``3.6.2``, ``3.11``, ``3`` or ``>=3.8,<3.12``.

    No pin: the current interpreter. A pin older than everything available here: the closest
    available, with a warning in the log. A pin newer than everything available: an error.
    ``shared``: the environment will run as other users (see ``for_replica_users``): the
    chosen interpreter is swapped for a reachable one of the same minor version, if it is not.
    """
    chosen = _select(pin, log)
    return reachable_twin(chosen, log) if shared else chosen


def _select(pin: str | None, log: Callable[[str], None]) -> Interpreter:
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


# -- interpreters other users can run (services' own users, targets/local/isolation.py) --------


def unreachable(path: Path, execute: bool = False) -> str | None:
    """Why a user other than the owner cannot reach ``path``, or None when it can: every directory
    on its resolved path must be traversable by others, the file readable (and executable)."""
    real = Path(os.path.realpath(path))
    try:
        for parent in reversed(real.parents):
            if not os.stat(parent).st_mode & stat.S_IXOTH:
                return f"{parent} is not traversable by other users"
        mode = os.stat(real).st_mode
    except OSError as exc:
        return f"{real}: {exc.strerror}"
    # a directory on the way only needs traversing
    need = stat.S_IXOTH if stat.S_ISDIR(mode) else stat.S_IROTH | (stat.S_IXOTH if execute else 0)
    if mode & need != need:
        return f"{real} is not reachable by other users"
    return None


def run_problem(python: Path | str) -> str | None:
    """Why another user could not run ``python`` (for a virtual environment: its base
    interpreter too), or None when it can. The environment's own directory is not checked:
    isolation opens it."""
    exe = Path(python)
    cfg = exe.parent.parent / "pyvenv.cfg"
    try:
        text = cfg.read_text(errors="replace") if cfg.is_file() else ""
    except OSError as exc:
        return f"{cfg}: {exc.strerror}"
    for line in text.splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "home" and value.strip():
            return unreachable(Path(value.strip()))
    return unreachable(exe, execute=True)


def for_replica_users(cache_root: Path) -> bool:
    """Whether environments built under ``cache_root`` will run as services' own users: the
    server is root with isolation on, and others can traverse every directory above the cache
    (the cache itself and the server's home are opened for traversal by isolation)."""
    from modelport.targets.local import isolation  # lazily: environments do not need targets

    if not isolation.enabled():
        return False
    try:
        return unreachable(Path(os.path.realpath(cache_root)).parent) is None
    except OSError:
        return False


def reachable_twin(chosen: Interpreter, log: Callable[[str], None]) -> Interpreter:
    """``chosen`` if other users can run it, else an installed interpreter of the same minor
    version they can (the newest patch), else ``chosen`` (its replicas then share the server's
    user, and ``service show`` says why)."""
    problem = run_problem(chosen.path)
    if problem is None:
        return chosen
    minor = chosen.version[:2]
    # PATH first (a probe per candidate, milliseconds); uv's full list (seconds) only if needed
    twins = list(_reachable_on_path(minor)) or [
        i for i in _installed() if i.version[:2] == minor and run_problem(i.path) is None
    ]
    if not twins:
        log(
            f"No Python {chosen.version[0]}.{chosen.version[1]} here that other users can run "
            f"({problem}): this environment's replicas will share the server's user."
        )
        return chosen
    best = max(twins, key=lambda i: i.version)
    log(
        f"Using Python {best.version_str} at {best.path} instead of {chosen.path} "
        f"({problem}), so the service's replicas can run as a user of their own."
    )
    return best


@functools.lru_cache(maxsize=4)
def _reachable_on_path(minor: tuple[int, int]) -> tuple[Interpreter, ...]:
    """``pythonX.Y`` executables on PATH that other users can run, with their exact versions."""
    found: list[Interpreter] = []
    seen: set[str] = set()
    name = f"python{minor[0]}.{minor[1]}"
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        exe = Path(folder or ".") / name
        real = os.path.realpath(exe)
        if real in seen or not os.path.isfile(exe) or run_problem(exe) is not None:
            continue
        seen.add(real)
        try:
            out = subprocess.run(
                [str(exe), "-I", "-c", "import sys; print(*sys.version_info[:3])"],
                capture_output=True, text=True, timeout=30, check=False,
            ).stdout.split()  # fmt: skip
            version = (int(out[0]), int(out[1]), int(out[2]))
        except (OSError, subprocess.TimeoutExpired, ValueError, IndexError):
            continue
        if version[:2] == minor:
            found.append(Interpreter(exe, version))
    return tuple(found)
