"""``modelport batch run``: a v1 ParallelRunStep entry script over files or tables, resumable."""

from __future__ import annotations

import json
import sys
import time
from typing import Annotated, Any

import typer

from modelport.cli._options import CommonOptions
from modelport.errors import UserError

app = typer.Typer(
    help="Batch inference with v1 ParallelRunStep entry scripts (init() once per worker, "
    "run(mini_batch) per mini-batch) on a pool of local processes.",
    no_args_is_help=True,
    rich_markup_mode="markdown",
)


class _PlainProgress:
    """One line per ~5% when stderr is not a terminal (CI logs, pipes)."""

    def __init__(self) -> None:
        self.began = time.monotonic()
        self.last = -1

    def __call__(self, done: int, total: int) -> None:
        step = max(1, total // 20)
        if done == self.last or (done % step and done != total):
            return
        self.last = done
        elapsed = time.monotonic() - self.began
        rate = done / elapsed if elapsed > 0 else 0.0
        eta = (total - done) / rate if rate > 0 else 0.0
        print(
            f"mini-batches {done}/{total} ({rate:.1f}/s, ETA {eta:.0f}s)",
            file=sys.stderr,
            flush=True,
        )


class _RichProgress:
    """A bar with rate and ETA on a terminal."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        self.bar = Progress(
            TextColumn("mini-batches"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self.task: Any = None
        self.began = time.monotonic()

    def __call__(self, done: int, total: int) -> None:
        if self.task is None:
            self.bar.start()
            self.task = self.bar.add_task("run", total=total, rate="")
        elapsed = time.monotonic() - self.began
        rate = f"{done / elapsed:.1f}/s" if elapsed > 0 else ""
        self.bar.update(self.task, completed=done, rate=rate)

    def stop(self) -> None:
        if self.task is not None:
            self.bar.stop()


@app.command(
    "run",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)
def run(
    ctx: typer.Context,
    entry_script: Annotated[
        str, typer.Option("--entry-script", help="Script with init() and run(mini_batch).")
    ],
    inputs: Annotated[
        list[str],
        typer.Option("--input", help="A file, a folder (walked) or a glob; repeatable."),
    ],
    output: Annotated[str, typer.Option("--output", help="Output folder.")],
    input_format: Annotated[
        str | None,
        typer.Option(
            "--input-format",
            help="files (run() gets paths) or csv|parquet|jsonl (run() gets a DataFrame); "
            "default: from the file suffixes.",
        ),
    ] = None,
    mini_batch_size: Annotated[
        str | None,
        typer.Option(
            "--mini-batch-size",
            help="Files per mini-batch (default 10) or, for tables, a size like 1MB (default).",
        ),
    ] = None,
    source_directory: Annotated[
        str | None, typer.Option("--source-directory", help="Folder of the script and its modules.")
    ] = None,
    process_count: Annotated[
        int, typer.Option("--process-count", help="Worker processes (process_count_per_node).")
    ] = 1,
    error_threshold: Annotated[
        int,
        typer.Option("--error-threshold", help="Failed items tolerated in all; -1 ignores all."),
    ] = 10,
    output_action: Annotated[
        str, typer.Option("--output-action", help="append_row or summary_only.")
    ] = "append_row",
    append_row_file_name: Annotated[
        str, typer.Option("--append-row-file-name", help="File of the appended rows.")
    ] = "parallel_run_step.txt",
    timeout: Annotated[
        int, typer.Option("--run-invocation-timeout", help="Seconds one run() call may take.")
    ] = 60,
    max_try: Annotated[
        int, typer.Option("--run-max-try", help="Attempts per mini-batch before it fails.")
    ] = 3,
    logging_level: Annotated[
        str, typer.Option("--logging-level", help="WARNING, INFO or DEBUG.")
    ] = "INFO",
    model_dir: Annotated[
        str | None,
        typer.Option("--model-dir", help="AZUREML_MODEL_DIR for the script (a model folder)."),
    ] = None,
    models: Annotated[
        list[str] | None,
        typer.Option(
            "--model",
            help="Registered model NAME[:VERSION] for the script (AZUREML_MODEL_DIR, "
            "Model.get_model_path); repeatable. Needs the workspace.",
        ),
    ] = None,
    environment: Annotated[
        str | None,
        typer.Option(
            "--environment",
            help="The script's environment, built like a service's (or reused from the cache): "
            "a saved environment folder, an environment JSON, a conda YAML, a requirements "
            "file, a curated name, or NAME[:VERSION] registered in the workspace (-w). "
            "Default: this Python.",
        ),
    ] = None,
    experiment: Annotated[
        str | None,
        typer.Option(
            "--experiment",
            help="Record the run in this experiment of the workspace (-w): status, metrics, "
            "the rows, summary and logs as run files.",
        ),
    ] = None,
    engine: Annotated[
        str,
        typer.Option(
            "--engine",
            help="local (worker processes here) or ray (Ray actors; also chosen by "
            "--node-count > 1).",
        ),
    ] = "local",
    address: Annotated[
        str | None,
        typer.Option(
            "--address",
            help="Ray cluster address (e.g. ray://head:10001 or auto); default: a local Ray.",
        ),
    ] = None,
    node_count: Annotated[
        int, typer.Option("--node-count", help="Nodes (Ray engine): workers = nodes x processes.")
    ] = 1,
    workspace_name: Annotated[
        str | None,
        typer.Option("--workspace-name", "-w", help="Workspace (default: the config file's)."),
    ] = None,
    resume: Annotated[
        str | None,
        typer.Option(
            "--resume", help="Continue the run RUN_ID in --output: skip its finished mini-batches."
        ),
    ] = None,
) -> None:
    """Run an entry script over every mini-batch of the input and write the appended rows.

    Arguments after `--` reach the script's sys.argv (read them with argparse's
    parse_known_args, as in v1). The output folder gets the rows (parallel_run_step.txt) and
    runs/RUN_ID/ with the journal, summary.json and one log per worker. After a crash, run the
    same command with `--resume RUN_ID`: finished mini-batches are skipped, no row is written
    twice.

    Example: modelport batch run --entry-script score.py --input images/ --mini-batch-size 10
    --output out --process-count 2 -- --threshold 0.5
    """
    import os

    from modelport.parallel_run.config import ParallelRunConfig
    from modelport.parallel_run.driver import BatchJob, run_batch

    config = ParallelRunConfig(
        entry_script=entry_script,
        source_directory=source_directory,
        mini_batch_size=mini_batch_size,
        error_threshold=error_threshold,
        output_action=output_action,
        append_row_file_name=append_row_file_name,
        process_count_per_node=process_count,
        node_count=node_count,
        logging_level=logging_level,
        run_invocation_timeout=timeout,
        run_max_try=max_try,
    )
    from modelport.parallel_run.driver import new_run_id, run_dir

    # not @common_options: its -o/--output (output format) would take v1's --output folder
    opts = CommonOptions(workspace_name=workspace_name)

    if resume and not os.path.isfile(os.path.join(run_dir(output, resume), "journal.jsonl")):
        raise UserError(f"no batch run {resume} in {output} (nothing to resume)")
    tracked = None
    if experiment:
        from modelport.sdk.run import Experiment, Run

        workspace = opts.workspace()
        if resume:
            tracked = Run.get(workspace, resume)
            if tracked.get_status() in ("Completed", "Failed", "Canceled"):
                # a finished run's status cannot change: this attempt is its child run
                tracked = tracked.child_run(name="resume")
        else:
            tracked = Experiment(workspace, experiment).start_logging()
    run_id = resume or (tracked.id if tracked else new_run_id())
    env: dict[str, str] = {}
    if model_dir:
        if not os.path.isdir(model_dir):
            raise UserError(f"--model-dir {model_dir} is not a folder")
        env["AZUREML_MODEL_DIR"] = os.path.abspath(model_dir)
    if workspace_name or experiment or models:
        # as for driver code: the script's Model.get_model_path downloads from this workspace
        from modelport.parallel_run.models import workspace_env

        env.update(workspace_env(opts.workspace(), run_dir(os.path.abspath(output), run_id)))
    if models:
        from modelport.parallel_run.models import fetch_models

        env.update(
            fetch_models(opts.workspace(), models, os.path.join(run_dir(output, run_id), "app"))
        )
    job = BatchJob(
        inputs,
        output,
        input_format,
        list(ctx.args),
        env,
        run_id,
        engine,
        address,
        environment=environment,
        workspace=opts.workspace,
        log=lambda line: print(line, file=sys.stderr, flush=True),
    )
    if tracked is not None:
        from modelport.parallel_run.record import note_journal

        note_journal(tracked, output, run_id)
    rich = _RichProgress() if sys.stderr.isatty() else None
    progress = rich or _PlainProgress()

    def started(run_id: str, total: int) -> None:
        print(f"run {run_id}: {total} mini-batches", file=sys.stderr, flush=True)

    try:
        _, summary = run_batch(config, job, progress, started)
    finally:
        if rich is not None:
            rich.stop()
    if tracked is not None:
        from modelport.parallel_run.record import record

        record(tracked, config, output, summary, batch_id=run_id)
    print(json.dumps({"runId": run_id, **summary.as_dict()}, indent=2))
    if summary.status != "Completed":
        raise UserError(summary.error or f"run {run_id} {summary.status}")
