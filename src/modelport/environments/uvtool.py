"""Run the uv binary that ships with the ``uv`` Python package, streaming its output line by line."""

from __future__ import annotations

import functools
import os
import subprocess
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from modelport.errors import ServerError


@functools.lru_cache(maxsize=1)
def uv_path() -> Path:
    try:
        import uv

        return Path(uv.find_uv_bin())
    except (ImportError, FileNotFoundError) as e:  # pragma: no cover - uv is a dependency
        raise ServerError(f"The uv binary is missing ({e}); reinstall modelport.") from None


def uv_env() -> dict[str, str]:
    env = dict(os.environ)
    env["UV_PYTHON_DOWNLOADS"] = "never"  # never fetch interpreters behind the user's back
    env["UV_NO_PROGRESS"] = "1"
    env["NO_COLOR"] = "1"
    # A surrounding venv must not become uv's target: every command passes --python.
    env.pop("VIRTUAL_ENV", None)
    env.pop("CONDA_PREFIX", None)
    return env


@dataclass
class UvResult:
    returncode: int
    stdout: str
    stderr: str


def run_uv(
    args: Sequence[str],
    log: Callable[[str], None],
    cwd: Path | None = None,
    log_stdout: bool = True,
) -> UvResult:
    """Run ``uv <args>``; every stderr line (and stdout line unless told not to) goes to ``log``."""
    proc = subprocess.Popen(
        [str(uv_path()), *args],
        cwd=cwd,
        env=uv_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        bufsize=1,
    )
    assert proc.stdout is not None and proc.stderr is not None
    err_lines: list[str] = []
    reader = threading.Thread(target=_pump, args=(proc.stderr, err_lines, log), daemon=True)
    reader.start()
    out_lines: list[str] = []
    _pump(proc.stdout, out_lines, log if log_stdout else None)
    rc = proc.wait()
    reader.join()
    return UvResult(rc, "".join(out_lines), "".join(err_lines))


def _pump(stream: IO[str], sink: list[str], log: Callable[[str], None] | None) -> None:
    for line in stream:
        sink.append(line)
        if log is not None:
            log("uv: " + line.rstrip("\n"))
    stream.close()
