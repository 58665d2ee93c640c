"""v1 driver code for batch steps: ``Pipeline([...])``, ``Experiment.submit``, ``wait_for_completion``.

Only what a ParallelRunStep driver needs: steps run one after another on the local engine, in a
background thread started by ``submit`` (v1's submit returned at once too); the run is a Run in
the workspace, its steps' rows, summaries and logs its files.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from modelport.errors import UserError
from modelport.parallel_run.config import ParallelRunStep
from modelport.parallel_run.parameters import PipelineParameter, bind, resolve
from modelport.sdk.run import Run

if TYPE_CHECKING:
    from modelport.sdk.run import Experiment


class PipelineData:
    """A step output by name: the folder ``azureml/<run id>/<name>`` under the working directory."""

    def __init__(self, name: str, datastore: Any = None, **kwargs: Any) -> None:
        self.name = name
        self.datastore = datastore


class Pipeline:
    """An ordered list of ParallelRunSteps; ``Experiment(ws, name).submit(pipeline)`` runs it."""

    def __init__(self, workspace: Any, steps: Sequence[ParallelRunStep], **kwargs: Any) -> None:
        if not steps:
            raise UserError("a Pipeline needs at least one step")
        names = [s.name for s in steps]
        for step in steps:
            if not isinstance(step, ParallelRunStep):
                raise UserError(f"unsupported pipeline step {type(step).__name__}: ParallelRunStep")
        if len(set(names)) != len(names):
            raise UserError(f"pipeline step names must be unique: {names}")
        self.workspace = workspace
        self.steps = list(steps)

    def _submit(
        self, experiment: Experiment, pipeline_parameters: dict[str, Any] | None = None
    ) -> PipelineRun:
        values = bind(self._parameters(), pipeline_parameters)  # before a run exists
        for step in self.steps:
            step.parallel_run_config.resolved(values)  # a submitted value the field cannot take
        started = Run._start(experiment, parent_run_id=None, display_name=None)
        run = PipelineRun(experiment, started.id, _details=started._details)
        run._begin(self, values)
        return run

    def _parameters(self) -> list[PipelineParameter]:
        found: list[PipelineParameter] = []
        for step in self.steps:
            found += [a for a in step.arguments if isinstance(a, PipelineParameter)]
            found += step.parallel_run_config.parameters()
        return found


def _output_dir(step: ParallelRunStep, run_id: str) -> str:
    out = step.output
    if isinstance(out, str | os.PathLike):
        return os.fspath(out)
    name = getattr(out, "name", None) or step.name
    return os.path.join("azureml", run_id, name)


class PipelineRun(Run):
    """The Run of a submitted pipeline; ``wait_for_completion`` follows it to the end."""

    _thread: threading.Thread | None = None
    _lines: list[str]

    def _begin(self, pipeline: Pipeline, values: dict[str, Any]) -> None:
        self._lines = []
        self._thread = threading.Thread(target=self._execute, args=(pipeline, values), daemon=True)
        self._thread.start()

    def _say(self, line: str) -> None:
        self._lines.append(line)

    def _execute(self, pipeline: Pipeline, values: dict[str, Any]) -> None:
        from modelport.parallel_run.dataset import step_inputs
        from modelport.parallel_run.driver import BatchJob, run_batch
        from modelport.parallel_run.record import note_journal, record

        try:
            for step in pipeline.steps:
                out = _output_dir(step, self.id)
                paths, kind = step_inputs(step.inputs)  # paths or v1 Datasets
                config = step.parallel_run_config.resolved(values)
                arguments = [str(resolve(a, values)) for a in step.arguments]
                job = BatchJob(paths, out, kind, arguments,
                               run_id=self.id, workspace=lambda: pipeline.workspace,
                               log=self._say, env=self._workspace_env(pipeline, out))  # fmt: skip
                note_journal(self, out)

                def progress(done: int, total: int, name: str = step.name) -> None:
                    self._say(f"{name}: {done}/{total} mini-batches")

                _, summary = run_batch(config, job, progress)
                prefix = f"{step.name}/" if len(pipeline.steps) > 1 else ""
                self._say(f"{step.name}: {summary.status} {summary.as_dict()}")
                last = summary.status != "Completed" or step is pipeline.steps[-1]
                record(self, config, out, summary, prefix, finish=last)
                if last:
                    return
        except Exception as e:
            self._say(f"failed: {e}")
            self.fail(f"{type(e).__name__}: {e}")

    def _workspace_env(self, pipeline: Pipeline, out: str) -> dict[str, str]:
        """The run's workspace for the workers: ``Model.get_model_path`` downloads from it (v1)."""
        from modelport.parallel_run.driver import run_dir
        from modelport.parallel_run.models import workspace_env
        from modelport.sdk.workspace import Workspace

        ws = pipeline.workspace
        if not isinstance(ws, Workspace):
            ws = self.experiment.workspace
        return workspace_env(ws, run_dir(os.path.abspath(out), self.id))

    def wait_for_completion(
        self, show_output: bool = False, timeout_seconds: float | None = None, **kwargs: Any
    ) -> str:
        """Block until the pipeline ends; ``show_output`` prints its progress. Returns the status."""
        deadline = None if timeout_seconds is None else time.monotonic() + timeout_seconds
        shown = 0
        while self._thread is not None and self._thread.is_alive():
            self._thread.join(timeout=0.2)
            if show_output:
                for line in self._lines[shown:]:
                    print(line, file=sys.stdout, flush=True)
                shown = len(self._lines)
            if deadline is not None and time.monotonic() > deadline:
                break
        if show_output:
            for line in self._lines[shown:]:
                print(line, flush=True)
        status = self.get_status()
        if show_output:
            print(f"PipelineRun {self.id} status: {status}", flush=True)
        return status
