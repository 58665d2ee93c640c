"""Turn a spec into a locked requirements text with ``uv pip compile``, for one interpreter.

The user's packages and the serving runtime are resolved together, so a pin that clashes with the
runtime fails here with a readable message, not at service start.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from modelport.environments import pins
from modelport.environments.interpreters import Interpreter
from modelport.environments.runtime import serving_requirements
from modelport.environments.uvtool import run_uv
from modelport.errors import UserError


class EnvironmentBuildError(UserError):
    """An environment could not be resolved or built; the message names the cause."""


@dataclass(frozen=True)
class Requirements:
    user: tuple[str, ...]  # the user's lines that will be installed (azureml-* removed)
    runtime: tuple[str, ...]  # the serving runtime's requirements
    skipped: tuple[str, ...]  # azureml-* lines satisfied by the compat layer

    def text(self) -> str:
        return "".join(f"{line}\n" for line in (*self.user, *self.runtime))


def is_compat_satisfied(name: str) -> bool:
    """``azureml-*`` packages (azureml-defaults, azureml-core, ...) come from modelport's compat layer."""
    n = canonicalize_name(name)
    return n == "azureml" or n.startswith("azureml-")


def split_requirements(lines: Iterable[str], log: Callable[[str], None]) -> Requirements:
    user: list[str] = []
    skipped: list[str] = []
    for line in lines:
        if line.startswith("-"):
            user.append(line)  # an option line (--extra-index-url ...) that uv reads as is
            continue
        try:
            req = Requirement(line)
        except InvalidRequirement as e:
            raise UserError(f"Invalid pip requirement {line!r}: {e}") from None
        if is_compat_satisfied(req.name):
            skipped.append(line)
            log(f"{line}: satisfied by modelport's azureml compatibility layer, not installed.")
            continue
        user.append(line)
    return Requirements(tuple(user), tuple(serving_requirements()), tuple(skipped))


def compile_lock(
    reqs: Requirements,
    interp: Interpreter,
    log: Callable[[str], None],
    allow_source_builds: bool = False,
    relax_pins: bool = False,
) -> str:
    """Resolve with uv for ``interp``; returns the lock text or raises EnvironmentBuildError.

    On failure every pin that cannot install here is named at once with its nearest installable
    version (:mod:`modelport.environments.pins`); ``relax_pins`` uses those versions instead.
    """
    log(
        f"Resolving {len(reqs.user)} package(s) plus the serving runtime for Python {interp.version_str}"
    )
    with tempfile.TemporaryDirectory(prefix="modelport-lock-") as tmp:
        # A fixed relative file name keeps the "# via -r requirements.in" annotations stable.
        (Path(tmp) / "requirements.in").write_text(reqs.text(), encoding="utf-8")
        args = ["pip", "compile", "requirements.in", "--python", str(interp.path), "--no-header"]
        if not allow_source_builds:
            args += ["--only-binary", ":all:"]
        args += _emit_flags(reqs.user)
        result = run_uv(args, log, cwd=Path(tmp), log_stdout=False)
    if result.returncode != 0:
        problems = [] if allow_source_builds else pins.unsatisfiable(reqs.user, interp, log)
        if problems and relax_pins and all(p.nearest for p in problems):
            user = tuple(pins.relax(reqs.user, problems, log))
            return compile_lock(replace(reqs, user=user), interp, log, allow_source_builds)
        if problems:
            raise EnvironmentBuildError(pins.message(problems, interp))
        raise EnvironmentBuildError(explain_failure(result.stderr, reqs, interp))
    return result.stdout


def _emit_flags(lines: Iterable[str]) -> list[str]:
    """Keep the user's index options in the lock, or the sync step would not see those indexes."""
    flags: list[str] = []
    options = [line.split()[0].split("=")[0] for line in lines if line.startswith("-")]
    if any(o in ("-i", "--index-url", "--extra-index-url") for o in options):
        flags.append("--emit-index-url")
    if any(o in ("-f", "--find-links") for o in options):
        flags.append("--emit-find-links")
    return flags


_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(
            r"(?P<req>[^\s,]+) has no (?:usable )?wheels(?: with a matching (?P<tag>[\w ]+?) tag)?"
        ),
        "no release file of it installs on this interpreter (only builds for other Python versions "
        "or platforms exist{source})",
    ),
    (
        re.compile(r"there is no version of (?P<req>[^\s,]+)"),
        "that version does not exist on the package index",
    ),
    (
        re.compile(r"(?P<req>[^\s,]+) was not found in the package registry"),
        "the package does not exist on the package index",
    ),
    (
        re.compile(
            r"current Python version \((?P<v>[\d.]+)\) does not satisfy (?P<py>Python[^\s,]+) and "
            r"(?P<req>[^\s,]+) depends on"
        ),
        "it requires {py}",
    ),
    (
        re.compile(r"you require (?P<req>[^\s,]+) and (?P<other>[^\s,]+), we can conclude"),
        "it conflicts with {other}",
    ),
]


def explain_failure(output: str, reqs: Requirements, interp: Interpreter) -> str:
    """One readable sentence naming the package and the interpreter (the raw output is logged)."""
    text = " ".join(output.split())
    runtime_names = {_name(r): r for r in reqs.runtime}
    user_by_name = {_name(r): r for r in reqs.user if not r.startswith("-")}
    where = f"Python {interp.version_str} ({interp.path})"
    for pattern, reason in _PATTERNS:
        m = pattern.search(text)
        if not m:
            continue
        groups = m.groupdict()
        name = _name(groups["req"])
        shown = user_by_name.get(name, groups["req"])
        if groups.get("other"):
            other = groups["other"]
            runtime = runtime_names.get(_name(other))
            groups["other"] = f"the serving runtime's {runtime}" if runtime else other
        groups["source"] = "; modelport installs wheels only" if "wheels" in pattern.pattern else ""
        why = reason.format(**{k: v or "" for k, v in groups.items()})
        tail = "The resolver output is in the build log."
        if name not in user_by_name:
            # A dependency of a requested package: name the package the user wrote.
            dep = re.escape(groups["req"])
            parent = re.search(rf"(?P<parent>[^\s,]+) depends on {dep}", text)
            if parent and _name(parent.group("parent")) in user_by_name:
                line = user_by_name[_name(parent.group("parent"))]
                return (
                    f"Cannot install {line} on {where}: its dependency {groups['req']} cannot be "
                    f"installed ({why}). Relax or drop the pin. {tail}"
                )
            return f"Cannot install {shown} on {where}: {why}. {tail}"
        hint = "Relax or drop the pin." if re.search(r"[=<>~!]", shown) else "Check the name."
        return f"Cannot install {shown} on {where}: {why}. {hint} {tail}"
    # Unknown shape: name the first requested package the output mentions.
    for name, line in user_by_name.items():
        if re.search(rf"\b{re.escape(name)}\b", text, re.IGNORECASE):
            return (
                f"Cannot install {line} on {where}: the resolver found no solution. "
                "The resolver output is in the build log."
            )
    first = next((ln.strip() for ln in output.splitlines() if ln.strip()), "uv failed")
    return f"Resolving the environment for {where} failed: {first}. The full output is in the build log."


def _name(req: str) -> str:
    m = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", req)
    return canonicalize_name(m.group(0)) if m else req
