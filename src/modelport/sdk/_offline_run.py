"""What ``Run.get_context()`` returns outside a tracked run: v1's offline run.

A training script written for Azure ML v1 calls ``run = Run.get_context()`` and then
``run.log(...)``; run locally, those calls must work and say where the values went (stdout), as
v1's ``_OfflineRun`` does. Files stay where they are; registering needs a real run.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from modelport.errors import UserError


class OfflineRun:
    """A run that records metrics in memory and prints them; nothing goes to a server."""

    def __init__(self, parent_run_id: str | None = None, display_name: str | None = None) -> None:
        self.id = f"OfflineRun_{uuid.uuid4()}"
        self.status = "Running"
        self.display_name = display_name
        self.parent_run_id = parent_run_id
        self.experiment = None
        self._metrics: dict[str, list[Any]] = {}

    def log(self, name: str, value: Any, description: str = "", step: int | None = None) -> None:
        self._metrics.setdefault(name, []).append(value)
        print(f"Attempted to log scalar metric {name}:\n{value}")

    def log_list(self, name: str, value: Sequence[Any], description: str = "") -> None:
        self._metrics.setdefault(name, []).extend(value)
        print(f"Attempted to log list metric {name}:\n{list(value)}")

    def get_metrics(self, name: str | None = None, **kwargs: Any) -> dict[str, Any]:
        metrics = {k: v[0] if len(v) == 1 else list(v) for k, v in self._metrics.items()}
        return (
            {name: metrics[name]}
            if name is not None and name in metrics
            else ({} if name is not None else metrics)
        )

    def upload_file(self, name: str, path_or_stream: str | Path | IO[bytes], **kwargs: Any) -> None:
        print(f"Attempted to upload file {name} (offline run: the file stays where it is)")

    def upload_folder(self, name: str, path: str | Path, **kwargs: Any) -> None:
        print(f"Attempted to upload folder {name} (offline run: the files stay where they are)")

    def get_file_names(self) -> list[str]:
        return []

    def child_run(self, name: str | None = None, **kwargs: Any) -> OfflineRun:
        return OfflineRun(parent_run_id=self.id, display_name=name)

    def complete(self, **kwargs: Any) -> None:
        self.status = "Completed"

    def fail(self, error_details: Any = None, **kwargs: Any) -> None:
        self.status = "Failed"

    def cancel(self) -> None:
        self.status = "Canceled"

    def register_model(self, model_name: str, *args: Any, **kwargs: Any) -> Any:
        raise UserError(
            "An offline run cannot register models: use Model.register(workspace, path, "
            f"{model_name!r}) or start a tracked run with Experiment(ws, name).start_logging()."
        )

    def __enter__(self) -> OfflineRun:
        return self

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        if self.status == "Running":
            self.status = "Completed" if exc is None else "Failed"

    def __repr__(self) -> str:
        return f"Run(Experiment: None, Id: {self.id}, Type: None, Status: {self.status})"
