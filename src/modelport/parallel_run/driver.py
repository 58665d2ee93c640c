"""One batch run from start (or resume) to its output: plan, journal, engine, output, summary.

Layout under the output folder::

    <output>/<append_row_file_name>          the rows (append_row), rebuilt from the journal
    <output>/runs/<run_id>/journal.jsonl     finished mini-batches (what --resume reads)
    <output>/runs/<run_id>/parts/N.txt       the rows of mini-batch N, written by its worker
    <output>/runs/<run_id>/summary.json      processed, succeeded, failed, retried, seconds
    <output>/runs/<run_id>/logs/worker-N.log each worker's stdout/stderr
    <output>/runs/<run_id>/logs/environment.log building (or reusing) the script's environment
"""

from __future__ import annotations

import json
import os
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from modelport.errors import UserError
from modelport.parallel_run.config import ParallelRunConfig
from modelport.parallel_run.environment import ScriptEnvironment
from modelport.parallel_run.environment import build as build_environment
from modelport.parallel_run.journal import Journal
from modelport.parallel_run.local import BatchFailed, LocalEngine, Progress, Summary
from modelport.parallel_run.plan import fingerprint, guess_format, list_inputs, make_plan
from modelport.parallel_run.worker import WorkerSpec
from modelport.serving.entry_script import EntryScriptError, locate

RUNS_DIR = "runs"


def new_run_id() -> str:
    return f"batch_{time.strftime('%Y%m%d_%H%M%S')}_{secrets.token_hex(3)}"


@dataclass
class BatchJob:
    """Everything one run needs besides the config."""

    inputs: Sequence[str]
    output_dir: str
    input_format: str | None = None  # None: guessed from the file suffixes
    arguments: Sequence[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    run_id: str | None = None  # given: resume that run (or use a workspace Run's id)
    engine: str = "local"  # or "ray" (also chosen by node_count > 1)
    address: str | None = None  # Ray: the cluster (None: the running one, else a local one)
    environment: Any = None  # overrides config.environment (see parallel_run.environment)
    workspace: Callable[[], Any] | None = None  # for a registered environment by name
    log: Callable[[str], None] | None = None  # where the environment build's lines also go


def run_dir(output_dir: str, run_id: str) -> str:
    return os.path.join(output_dir, RUNS_DIR, run_id)


def run_batch(
    config: ParallelRunConfig,
    job: BatchJob,
    progress: Progress | None = None,
    on_start: Callable[[str, int], None] | None = None,
) -> tuple[str, Summary]:
    """Run (or resume) the job; returns its run id and summary (status Failed on a stop)."""
    try:
        script = locate(config.entry_script, config.source_directory, os.getcwd())
    except EntryScriptError as e:
        raise UserError(str(e)) from None
    paths = list_inputs(list(job.inputs))
    kind = job.input_format or guess_format(paths)
    plan = make_plan(paths, kind, config.batch_size_for(tabular=kind != "files"))
    run_id = job.run_id or new_run_id()
    base = run_dir(os.path.abspath(job.output_dir), run_id)  # Ray actors run in another cwd
    journal_path = os.path.join(base, "journal.jsonl")
    header = {"plan": fingerprint(plan), "format": kind, "mini_batches": len(plan)}
    journal = Journal(journal_path, header)
    log_dir = os.path.join(base, "logs")
    parts = os.path.join(base, "parts")
    os.makedirs(log_dir, exist_ok=True)
    os.makedirs(parts, exist_ok=True)
    summary = Summary(skipped=len(journal.entries))
    for entry in journal.entries.values():
        summary.mini_batches += 1
        summary.processed += entry.items
        summary.succeeded += entry.succeeded
        summary.failed += entry.failed
        summary.retried += entry.tries - 1
    built = _environment(config, job, log_dir)
    spec = WorkerSpec(
        script=script,
        source_dir=config.source_directory,
        arguments=[str(a) for a in job.arguments],
        env={
            **_thread_caps(config, job),
            **(built.env_vars if built else {}),
            **job.env,
            "MODELPORT_BATCH_OUTPUT": os.path.abspath(job.output_dir),
        },
        log_dir=log_dir,
        logging_level=config.logging_level,
        tabular=kind != "files",
        parts_dir=parts if config.output_action == "append_row" else None,
        python=built.python if built else None,
        environment={"document": built.document, "lock": built.lock} if built else None,
    )
    if on_start is not None:
        on_start(run_id, len(plan))
    began = time.monotonic()
    engine = _engine(config, spec, journal, job)
    summary.engine = engine.name
    summary.workers = engine.worker_count()
    try:
        engine.run(plan, summary, progress or (lambda d, t: None))
    except BatchFailed as e:
        summary.status, summary.error = "Failed", str(e)
    finally:
        journal.close()
        summary.seconds = round(time.monotonic() - began, 3)
        if engine.first_ready is not None:
            summary.startup_seconds = round(engine.first_ready - began, 3)
            if engine.last_done is not None:
                summary.work_seconds = round(engine.last_done - engine.first_ready, 3)
    if config.output_action == "append_row":
        journal.write_output(os.path.join(job.output_dir, str(config.append_row_file_name)))
    _write_json(os.path.join(base, "summary.json"), summary.as_dict())
    return run_id, summary


THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def _thread_caps(config: ParallelRunConfig, job: BatchJob) -> dict[str, str]:
    """Local workers share this machine's cores: each one's math libraries get its share.

    Without it, every worker's OpenBLAS/MKL/OpenMP starts one thread per core, so 2 workers on 2
    cores run 4 busy threads and 2 processes score barely faster than 1. A value set in the
    shell, the environment or the job wins (Ray sets its own per actor).
    """
    if job.engine != "local" or config.node_count > 1:
        return {}
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    share = str(max(1, (cores or 1) // (config.process_count_per_node or 1)))
    return {name: share for name in THREAD_VARIABLES if name not in os.environ}


def _environment(
    config: ParallelRunConfig, job: BatchJob, log_dir: str
) -> ScriptEnvironment | None:
    """Build the script's environment; None: the workers run in the driver's Python."""
    value = job.environment if job.environment is not None else config.environment
    if value is None:
        return None
    with open(os.path.join(log_dir, "environment.log"), "a", encoding="utf-8") as f:

        def log(line: str) -> None:
            f.write(line + "\n")
            f.flush()
            if job.log is not None:
                job.log(line)

        return build_environment(value, log, job.workspace)


def _engine(
    config: ParallelRunConfig, spec: WorkerSpec, journal: Journal, job: BatchJob
) -> LocalEngine:
    if job.engine not in ("local", "ray"):
        raise UserError(f"engine must be local or ray, not {job.engine!r}")
    if job.engine == "local" and config.node_count == 1:
        return LocalEngine(config, spec, journal)
    from modelport.parallel_run.ray_engine import RayEngine

    engine = RayEngine(config, spec, journal)
    engine.address = job.address
    return engine


def _write_json(path: str, data: dict[str, Any]) -> None:
    tmp = path + ".partial"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2)
    os.replace(tmp, path)
