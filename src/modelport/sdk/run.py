"""``Experiment`` and ``Run``: just enough experiment tracking to register models from training runs."""

from __future__ import annotations

import builtins
import math
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from modelport.errors import UserError
from modelport.sdk._http import seg
from modelport.sdk._offline_run import OfflineRun

if TYPE_CHECKING:
    from types import TracebackType

    from modelport.sdk.model import Model
    from modelport.sdk.workspace import Workspace

_FILES_PER_REQUEST = 500
_LOWER_IS_BETTER = ("loss", "error")


class Experiment:
    """A named group of runs in a workspace; created on the server by its first run."""

    def __init__(self, workspace: Workspace, name: str, **kwargs: Any) -> None:
        self.workspace = workspace
        self.name = name

    def start_logging(
        self,
        *args: Any,
        outputs: Any = None,
        snapshot_directory: Any = None,
        display_name: str | None = None,
        **kwargs: Any,
    ) -> Run:
        """Start an interactive run (status ``Running``) and return it; use it as a context manager."""
        return Run._start(self, parent_run_id=None, display_name=display_name)

    def submit(
        self,
        config: Any,
        tags: Any = None,
        pipeline_parameters: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Run:
        """Start a submittable (a batch ``Pipeline``, docs/batch.md) as a run of this experiment;
        ``pipeline_parameters`` gives its PipelineParameters values other than their defaults."""
        submit = getattr(config, "_submit", None)
        if submit is None:
            raise UserError(f"cannot submit a {type(config).__name__}: only a Pipeline runs here")
        run: Run = submit(self, pipeline_parameters)
        return run

    def get_runs(self) -> Iterator[Run]:
        """Every run of this experiment, newest first as the server orders them."""
        client = self.workspace._client
        path = f"/workspaces/{seg(self.workspace.name)}/runs"
        for item in client.paginate(path, {"experiment": self.name}):
            yield Run(self, item["id"], _details=item)

    @staticmethod
    def list(workspace: Workspace) -> builtins.list[Experiment]:
        return builtins.list(workspace.experiments.values())

    def __repr__(self) -> str:
        return f"Experiment(Name: {self.name}, Workspace: {self.workspace.name})"


class Run:
    """One training run: metrics, files, child runs and models registered from its outputs."""

    def __init__(
        self,
        experiment: Experiment,
        run_id: str,
        outputs: Any = None,
        *,
        _details: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self.experiment = experiment
        self._ws = experiment.workspace
        self._client = self._ws._client
        self._base = f"/workspaces/{seg(self._ws.name)}/runs/{seg(run_id)}"
        self._set(_details if _details is not None else self._client.get(self._base))

    def _set(self, d: Mapping[str, Any]) -> None:
        self._details = dict(d)
        self.id: str = d["id"]
        self.status: str = d.get("status") or "Running"
        self.display_name: str | None = d.get("displayName")
        self.parent_run_id: str | None = d.get("parentRunId")

    @staticmethod
    def _start(
        experiment: Experiment, *, parent_run_id: str | None, display_name: str | None
    ) -> Run:
        ws = experiment.workspace
        body: dict[str, Any] = {}
        if parent_run_id:
            body["parentRunId"] = parent_run_id
        if display_name:
            body["displayName"] = display_name
        path = f"/workspaces/{seg(ws.name)}/experiments/{seg(experiment.name)}/runs"
        details = ws._client.post(path, body)
        return Run(experiment, details["id"], _details=details)

    @staticmethod
    def get(workspace: Workspace, run_id: str) -> Run:
        """The run ``run_id`` of ``workspace`` (NotFound otherwise)."""
        details = workspace._client.get(f"/workspaces/{seg(workspace.name)}/runs/{seg(run_id)}")
        return Run(Experiment(workspace, details["experimentName"]), run_id, _details=details)

    @staticmethod
    def get_context(allow_offline: bool = True, **kwargs: Any) -> Run | OfflineRun:
        """The run a script runs in: ``MODELPORT_RUN_ID`` (in ``MODELPORT_WORKSPACE`` or the
        config file's workspace), else an offline run that prints what it is given."""
        run_id = os.environ.get("MODELPORT_RUN_ID")
        if run_id:
            from modelport.sdk.workspace import Workspace

            name = os.environ.get("MODELPORT_WORKSPACE")
            ws = Workspace(name) if name else Workspace.from_config()
            return Run.get(ws, run_id)
        if not allow_offline:
            raise UserError("Not inside a tracked run (MODELPORT_RUN_ID is not set).")
        return OfflineRun()

    @property
    def name(self) -> str | None:
        return self.display_name

    @property
    def parent(self) -> Run | None:
        return Run.get(self._ws, self.parent_run_id) if self.parent_run_id else None

    def get_status(self) -> str:
        self._set(self._client.get(self._base))
        return self.status

    def get_details(self) -> dict[str, Any]:
        self._set(self._client.get(self._base))
        return dict(self._details)

    # -- metrics -----------------------------------------------------------------------------

    def log(self, name: str, value: Any, description: str = "", step: int | None = None) -> None:
        """Log a metric value; logging the same name again appends to a list."""
        if hasattr(value, "item") and callable(value.item):  # numpy scalars: np.int64(5) → 5
            value = value.item()
        if not isinstance(value, bool | int | float | str):
            raise UserError(f"Metric {name!r} must be a number, a string or a bool, not {value!r}.")
        self._client.post(f"{self._base}/metrics", {"name": name, "value": value})

    def log_list(self, name: str, value: Sequence[Any], description: str = "") -> None:
        """Log every value of a list under one metric name."""
        for item in value:
            self.log(name, item)

    def get_metrics(
        self, name: str | None = None, recursive: bool = False, **kwargs: Any
    ) -> dict[str, Any]:
        """``{name: value}`` (several values of one name come as a list); ``recursive`` adds children's."""
        metrics: dict[str, Any] = self._client.get(f"{self._base}/metrics")
        if name is not None:
            metrics = {name: metrics[name]} if name in metrics else {}
        if not recursive:
            return metrics
        result: dict[str, Any] = {self.id: metrics}
        for child in self.get_children(recursive=True):
            result[child.id] = child.get_metrics(name)
        return result

    # -- files -------------------------------------------------------------------------------

    def upload_file(
        self, name: str, path_or_stream: str | Path | IO[bytes], datastore_name: Any = None
    ) -> None:
        """Store a local file (or a binary stream) in the run as ``name`` (e.g. ``outputs/model.pkl``)."""
        rel = _run_path(name)
        if isinstance(path_or_stream, str | Path):
            local = Path(path_or_stream)
            if not local.is_file():
                raise UserError(f"The file {path_or_stream} does not exist.")
            blob = self._client.upload_file(self._ws.name, local, label=rel)
        else:
            blob = self._client.upload_stream(self._ws.name, path_or_stream, label=rel)
        self._add_files([{"path": rel, **blob}])

    def upload_files(
        self, names: Sequence[str], paths: Sequence[str | Path], **kwargs: Any
    ) -> None:
        if len(names) != len(paths):
            raise UserError("names and paths must have the same length.")
        for name, path in zip(names, paths, strict=True):
            self.upload_file(name, path)

    def upload_folder(self, name: str, path: str | Path, datastore_name: Any = None) -> None:
        """Store every file under the local folder ``path`` in the run under ``name/``."""
        folder = Path(path)
        if not folder.is_dir():
            raise UserError(f"The folder {path} does not exist.")
        prefix = _run_path(name)
        batch: list[dict[str, Any]] = []
        for local in sorted(p for p in folder.rglob("*") if p.is_file()):
            rel = f"{prefix}/{local.relative_to(folder).as_posix()}"
            batch.append({"path": rel, **self._client.upload_file(self._ws.name, local, label=rel)})
            if len(batch) == _FILES_PER_REQUEST:
                self._add_files(batch)
                batch = []
        if batch:
            self._add_files(batch)

    def _add_files(self, entries: builtins.list[dict[str, Any]]) -> None:
        self._client.post(f"{self._base}/files", {"files": entries})

    def _file_entries(self) -> builtins.list[dict[str, Any]]:
        return builtins.list(self._client.get(f"{self._base}/files").get("value", []))

    def get_file_names(self) -> builtins.list[str]:
        """Paths of the files stored in this run."""
        return [entry["path"] for entry in self._file_entries()]

    def download_file(self, name: str, output_file_path: str | Path | None = None) -> None:
        """Download one run file to ``output_file_path`` (default: its base name in the cwd)."""
        for entry in self._file_entries():
            if entry["path"] == name:
                dest = Path(output_file_path or Path(name).name)
                if dest.is_dir():
                    dest = dest / Path(name).name
                self._client.download_blob(self._ws.name, entry["sha256"], dest, size=entry["size"])
                return
        raise UserError(f"The run {self.id} has no file {name}.")

    # -- lifecycle ---------------------------------------------------------------------------

    def _status(self, status: str, error: str | None = None) -> None:
        body: dict[str, Any] = {"status": status}
        if error is not None:
            body["error"] = error
        self._set(self._client.post(f"{self._base}/status", body))

    def complete(self, _set_status: bool = True) -> None:
        self._status("Completed")

    def fail(
        self, error_details: Any = None, error_code: str | None = None, _set_status: bool = True
    ) -> None:
        self._status("Failed", None if error_details is None else str(error_details))

    def cancel(self) -> None:
        self._status("Canceled")

    def __enter__(self) -> Run:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.status != "Running":
            return
        if exc is None:
            self.complete()
        else:
            self.fail(error_details=f"{type(exc).__name__}: {exc}")

    # -- children ----------------------------------------------------------------------------

    def child_run(
        self, name: str | None = None, run_id: str | None = None, outputs: Any = None
    ) -> Run:
        """Start a child run in the same experiment."""
        return Run._start(self.experiment, parent_run_id=self.id, display_name=name)

    def get_children(self, recursive: bool = False, **kwargs: Any) -> Iterator[Run]:
        """The child runs (``recursive``: their children too), fetched page by page."""
        path = f"/workspaces/{seg(self._ws.name)}/runs"
        for item in self._client.paginate(path, {"parentRunId": self.id}):
            child = Run(self.experiment, item["id"], _details=item)
            yield child
            if recursive:
                yield from child.get_children(recursive=True)

    # -- models ------------------------------------------------------------------------------

    def register_model(
        self,
        model_name: str,
        model_path: str | None = None,
        tags: Mapping[str, Any] | None = None,
        properties: Mapping[str, Any] | None = None,
        model_framework: str | None = None,
        model_framework_version: str | None = None,
        description: str | None = None,
        datasets: Any = None,
        sample_input_dataset: Any = None,
        sample_output_dataset: Any = None,
        resource_configuration: Any = None,
        metric: str | None = None,
        **kwargs: Any,
    ) -> Model:
        """Register the run's file or folder ``model_path`` (default: ``model_name``) as a model.

        With ``metric=`` (on a parent run) the output of the best child by that metric is registered:
        higher is better unless the name contains "loss" or "error"; a metric logged several times
        counts by its last value.
        """
        from modelport.sdk._model_meta import registration_body
        from modelport.sdk.model import Model

        if metric is not None:
            best = self.best_child(metric)
            return best.register_model(
                model_name,
                model_path,
                tags=tags,
                properties=properties,
                model_framework=model_framework,
                model_framework_version=model_framework_version,
                description=description,
                datasets=datasets,
                sample_input_dataset=sample_input_dataset,
                sample_output_dataset=sample_output_dataset,
                resource_configuration=resource_configuration,
            )
        body = registration_body(
            model_name,
            tags=tags,
            properties=properties,
            description=description,
            model_framework=model_framework,
            model_framework_version=model_framework_version,
            resource_configuration=resource_configuration,
            datasets=datasets,
            sample_input_dataset=sample_input_dataset,
            sample_output_dataset=sample_output_dataset,
        )
        body["runId"] = self.id
        body["assetPath"] = _run_path(model_path or model_name)
        return Model._create(self._ws, body)

    def best_child(self, metric: str) -> Run:
        """The child run with the best last value of ``metric`` (see :meth:`register_model`)."""
        lower = any(word in metric.lower() for word in _LOWER_IS_BETTER)
        best: tuple[float, Run] | None = None
        for child in self.get_children():
            value = _last_number(child.get_metrics(metric).get(metric))
            if value is None:
                continue
            score = -value if lower else value
            if best is None or score > best[0]:
                best = (score, child)
        if best is None:
            raise UserError(f"No child run of {self.id} logged a numeric metric {metric!r}.")
        return best[1]

    def __repr__(self) -> str:
        return f"Run(Experiment: {self.experiment.name}, Id: {self.id}, Status: {self.status})"


def _run_path(name: str) -> str:
    """Run file names are relative POSIX paths (the server refuses anything else)."""
    path = str(name).replace("\\", "/").strip("/")
    if not path or ".." in path.split("/"):
        raise UserError(
            f"Invalid run file name {name!r}: use a relative path like outputs/model.pkl."
        )
    return path


def _last_number(value: Any) -> float | None:
    if isinstance(value, list):
        value = value[-1] if value else None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return None if math.isnan(number) else number
