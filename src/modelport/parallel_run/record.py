"""A batch run in the workspace: the Run points at its journal, then gets metrics, files, status."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from modelport.parallel_run.config import ParallelRunConfig
from modelport.parallel_run.driver import run_dir
from modelport.parallel_run.local import Summary

if TYPE_CHECKING:
    from modelport.sdk.run import Run

METRICS = ("processed", "succeeded", "failed", "retried", "seconds", "mini_batches", "skipped")


def note_journal(run: Run, output_dir: str, batch_id: str | None = None) -> None:
    """Where --resume finds the progress: the run names its journal (and so its output folder)."""
    journal = os.path.join(
        run_dir(os.path.abspath(output_dir), batch_id or run.id), "journal.jsonl"
    )
    run.log("batch_journal", journal)


def record(
    run: Run,
    config: ParallelRunConfig,
    output_dir: str,
    summary: Summary,
    prefix: str = "",
    finish: bool = True,
    batch_id: str | None = None,
) -> None:
    """Metrics, the output rows, summary and worker logs as run files; then the final status.

    ``batch_id``: the batch run's id when ``run`` is not it (a resume of a finished run is
    recorded in a child run: a Failed run's status and history stay as they were).
    """
    for name in METRICS:
        run.log(f"{prefix}{name}", getattr(summary, name))
    rows = os.path.join(output_dir, str(config.append_row_file_name))
    if config.output_action == "append_row" and os.path.isfile(rows):
        run.upload_file(f"outputs/{prefix}{config.append_row_file_name}", rows)
    base = run_dir(output_dir, batch_id or run.id)
    run.upload_file(f"outputs/{prefix}summary.json", os.path.join(base, "summary.json"))
    run.upload_folder(f"logs/{prefix}batch", os.path.join(base, "logs"))
    if not finish:
        return
    if summary.status == "Completed":
        run.complete()
    else:
        run.fail(summary.error)
