"""Turning a replica's exit (code + log lines) into a typed failure cause.

Exit codes of ``python -m modelport.serving``: 2 bad option, 3 entry script failed to load or
init() raised, 4 TLS/auth file unusable, 5 cannot listen. Code 3 covers both import and init
failures; the server's log tells them apart ("entry script failed to load: …" for a broken
init()/run() contract, and an "init() failed:" traceback whose frames show where it broke).
"""

from __future__ import annotations

import re
import signal

from modelport.targets.base import (
    CrashedAtStart,
    CrashLoop,
    FailureCause,
    ImportFailed,
    InitFailed,
    PortInUse,
    TlsConfigurationFailed,
)
from modelport.targets.local.launcher import LAUNCH_FAILED

EXIT_USAGE, EXIT_INIT, EXIT_CONFIG, EXIT_LISTEN = 2, 3, 4, 5
MAX_DETAIL_LINES = 40
_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt|Warning)\b(: .*)?$")
# the serving worker's frame that imports the script (init() failures show "script.init()")
_LOAD_FRAME = "es.load(path)"


def explaining_lines(lines: list[str]) -> tuple[str, ...]:
    """The lines that explain a failure: from the first traceback or error, at most 40."""
    lines = [line for line in lines if line.strip()]
    for i, line in enumerate(lines):
        if line.startswith("Traceback") or " ERROR " in line or line.startswith("error:"):
            return tuple(lines[i:][-MAX_DETAIL_LINES:])
    return tuple(lines[-MAX_DETAIL_LINES // 2 :])


def _last_exception(lines: tuple[str, ...]) -> str | None:
    for line in reversed(lines):
        if _EXCEPTION_LINE.match(line.strip()):
            return line.strip()
    return None


def _exit_text(code: int | None) -> str:
    if code is None:
        return "exited (exit code unknown: the replica was adopted)"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        hint = " (out of memory, or killed)" if -code == signal.SIGKILL else ""
        return f"was killed by {name}{hint}"
    return f"exited with code {code}"


def classify(
    code: int | None,
    lines: list[str],
    *,
    replica: int,
    ever_ready: bool,
    recent_crashes: int,
    crash_loop_after: int,
    killed_by_probe: bool = False,
    killed: str | None = None,
) -> FailureCause | None:
    """The cause of one replica exit; None for a lone crash of a replica that had been ready.

    ``killed`` is the supervisor's reason when it killed the replica itself.
    """
    details = explaining_lines(lines)
    text = "\n".join(lines)
    who = f"replica {replica}"
    if code == EXIT_INIT:
        failed_load = "entry script failed to load:" in text
        importing = _LOAD_FRAME in text or ("exec_module" in text and "script.init()" not in text)
        if failed_load or importing:
            reason = _load_reason(lines) or _last_exception(details) or "see the log lines"
            return ImportFailed(f"the entry script could not be loaded: {reason}", details)
        reason = _last_exception(details) or "see the log lines"
        return InitFailed(f"init() failed in {who} (exit code 3): {reason}", details)
    if code == EXIT_CONFIG:
        cls = TlsConfigurationFailed if "TLS" in text else CrashedAtStart
        return cls(_error_line(lines) or f"{who} could not read its TLS or auth file", details)
    if code == EXIT_LISTEN and "Address already in use" in text:
        return PortInUse(_error_line(lines) or f"{who} could not listen on its port", details)
    what = _exit_text(code)
    if killed_by_probe or killed:
        what = f"{killed}; replica killed" if killed else "liveness probe failed; replica killed"
    if code == LAUNCH_FAILED:
        return CrashedAtStart(_error_line(lines) or f"{who} could not be started", details)
    if recent_crashes >= crash_loop_after:
        return CrashLoop(
            f"{who} crashed {recent_crashes} times in a row (last: {what}); "
            "restarting it with a growing backoff",
            details,
        )
    if not ever_ready:
        return CrashedAtStart(f"{who} {what} before it became ready", details)
    return None


def _load_reason(lines: list[str]) -> str | None:
    for line in reversed(lines):
        if "entry script failed to load:" in line:
            return line.split("entry script failed to load:", 1)[1].strip()
    return None


def _error_line(lines: list[str]) -> str | None:
    for line in reversed(lines):
        stripped = line.strip()
        if stripped.startswith(("error:", "modelport: ")):
            return stripped.split(":", 1)[1].strip()
    return None
