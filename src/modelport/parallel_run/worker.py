"""One worker process: load the entry script, ``init()`` once, then ``run(mini_batch)`` per message.

Started by ``process.WorkerProcess`` with the interpreter of the script's environment. Messages
to the driver: ``("ready", pid)``, ``("init_failed", text)``, ``("done", index, items,
succeeded, part)``, ``("error", index, text)``. The rows go to a part file per mini-batch written
by the worker, so the work of formatting and storing them is spread over the
workers instead of passing through the one driver. The driver owns timeouts and retries; a worker only
reports. Its stdout/stderr go to its own log file (per-worker logs, as v1's ``logs/user/``).
"""

from __future__ import annotations

import io
import logging
import os
import sys
import time
import traceback
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from modelport.parallel_run.plan import MiniBatch


@dataclass
class WorkerSpec:
    """What every worker needs to start the script the same way."""

    script: str
    source_dir: str | None
    arguments: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    log_dir: str = "."
    logging_level: str = "INFO"
    tabular: bool = False
    parts_dir: str | None = None  # append_row: where each mini-batch's rows go (None: summary_only)
    python: str | None = None  # the built environment's interpreter (None: the driver's)
    # the environment's spec JSON and lock, so a Ray node without that venv builds the same one
    environment: dict[str, Any] | None = None


def read_mini_batch(batch: MiniBatch) -> tuple[Any, int]:
    """The script's argument (paths, or a DataFrame) and its number of items."""
    if batch.kind == "files":
        return list(batch.paths), len(batch.paths)
    import pandas as pd

    path = batch.paths[0]
    if batch.kind == "parquet":
        import pyarrow.parquet as pq

        groups = list(range(batch.start, batch.stop))
        frame = pq.ParquetFile(path).read_row_groups(groups).to_pandas()
    else:
        with open(path, "rb") as f:
            header = f.readline() if batch.kind == "csv" else b""
            f.seek(batch.start)
            data = f.read(batch.stop - batch.start)
        if batch.kind == "csv":
            frame = pd.read_csv(io.BytesIO(header + data))
        else:
            frame = pd.read_json(io.BytesIO(data), lines=True)
    return frame, len(frame)


def result_rows(result: Any) -> list[str]:
    """One output line per returned element: ``str(x)``, a DataFrame row's values space-separated."""
    if result is None:
        return []
    if hasattr(result, "to_csv") and hasattr(result, "columns"):
        text: str = result.to_csv(sep=" ", header=False, index=False, lineterminator="\n")
        return text.splitlines()
    return [str(x).replace("\n", " ") for x in result]


def write_part(parts_dir: str, index: int, rows: list[str]) -> str:
    """The mini-batch's rows under their final name before the driver hears of them.

    Not fsynced: the page cache survives a killed process, and after a machine crash the
    journal's check on resume re-runs a mini-batch whose part is missing or short.
    """
    path = os.path.join(parts_dir, f"{index:08}.txt")
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        if rows:
            f.write("\n".join(rows) + "\n")
    os.replace(tmp, path)  # a retried mini-batch writes the same rows under the same name
    return path


def _redirect_output(log_path: str) -> None:
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115 (lives as long as the process)
    sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115


def prepare(worker_id: int, spec: WorkerSpec) -> Any:
    """Set the process up as v1 did (log file, env, argv, sys.path), load the script, init()."""
    _redirect_output(os.path.join(spec.log_dir, f"worker-{worker_id}.log"))
    logging.basicConfig(
        level=spec.logging_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    os.environ.update(spec.env)
    # v1 passed the step's arguments on the command line; scripts read them with parse_known_args
    sys.argv = [spec.script, *spec.arguments]
    for path in (spec.source_dir, os.path.dirname(spec.script)):
        if path and path not in sys.path:
            sys.path.insert(0, path)
    from modelport.compat import install
    from modelport.serving.entry_script import load

    install()
    print(f"worker {worker_id} (pid {os.getpid()}): loading {spec.script}", flush=True)
    script = load(spec.script)
    script.init()
    return script


def run_one(script: Any, message: dict[str, Any], parts_dir: str | None) -> tuple[Any, ...]:
    """One mini-batch: ``("done", index, items, succeeded, part)`` or ``("error", index, text)``."""
    batch = MiniBatch(**message)
    began = time.monotonic()
    try:
        argument, items = read_mini_batch(batch)
        rows = result_rows(script.run(argument))
        part = write_part(parts_dir, batch.index, rows) if parts_dir else None
    except Exception:
        text = traceback.format_exc()
        print(f"mini-batch {batch.index} failed:\n{text}", flush=True)
        return ("error", batch.index, text.strip().splitlines()[-1])
    took = time.monotonic() - began
    print(f"mini-batch {batch.index}: {len(rows)} of {items} in {took:.3f}s", flush=True)
    return ("done", batch.index, items, len(rows), part)


def _die_with_parent() -> None:
    """The kernel kills this worker when its parent dies (driver kill -9, Ray actor killed)."""
    import ctypes
    import signal

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the worker exits at its next recv() instead
        pass


def main(fd: int) -> None:
    """Entry point of a worker process (``python -m modelport.parallel_run.worker FD``)."""
    _die_with_parent()
    conn = Connection(fd)
    worker_id, fields = conn.recv()
    spec = WorkerSpec(**fields)
    try:
        script = prepare(worker_id, spec)
    except BaseException:
        conn.send(("init_failed", traceback.format_exc()))
        return
    conn.send(("ready", os.getpid()))
    while True:
        try:
            message = conn.recv()
        except EOFError:  # the driver is gone
            return
        if message is None:
            return
        conn.send(run_one(script, message, spec.parts_dir))


if __name__ == "__main__":
    main(int(sys.argv[1]))
