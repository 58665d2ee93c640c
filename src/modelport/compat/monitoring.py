"""``azureml.monitoring.ModelDataCollector``: v1's model data collection, reported to the server.

Collection is on when the service was deployed with ``collect_model_data=True``
(``dataCollection.storageEnabled``): the workspace server then sets
``AML_MODEL_DC_STORAGE_ENABLED=true`` and tells the replica where to report. ``collect()`` turns
its input (list, dict, numpy array, pandas DataFrame) into rows and hands them to the replica's
reporter thread (serving/telemetry.py): nothing is written on the request path. The server
appends them to ``modeldata/<workspace>/<service>/<model>/<version>/<designation>/<yyyy>/<mm>/<dd>/data.csv``
in its artifact store. Off, ``collect()`` stores nothing, as v1's does.
"""

from __future__ import annotations

import logging
import os
import uuid
from datetime import UTC, datetime
from typing import Any

log = logging.getLogger("azureml.monitoring")

DESIGNATIONS = ("inputs", "predictions", "labels", "signals", "general")
CORRELATION = "$aml_dc_correlation_id"
TIMESTAMP = "$aml_dc_scoring_timestamp"


def _enabled() -> bool:
    return os.environ.get("AML_MODEL_DC_STORAGE_ENABLED", "").strip().lower() == "true"


def _version_of(model_name: str) -> str:
    """The deployed version of ``model_name`` (the server lists ``name:version`` for replicas)."""
    for ref in os.environ.get("MODELPORT_MODELS", "").split(","):
        name, _, version = ref.rpartition(":")
        if name == model_name:
            return version
    return "default"


def to_rows(data: Any, feature_names: list[str] | None) -> tuple[list[str], list[list[Any]]]:
    """(columns, rows) of a list, dict, numpy array or pandas DataFrame."""
    columns: list[str] | None = list(feature_names) if feature_names else None
    if hasattr(data, "columns") and hasattr(data, "values"):  # pandas DataFrame
        columns = columns or [str(c) for c in data.columns]
        rows = data.values.tolist()
    elif hasattr(data, "tolist") and hasattr(data, "ndim"):  # numpy array
        value = data.tolist()
        rows = (
            [value] if data.ndim <= 1 else [list(r) if isinstance(r, list) else [r] for r in value]
        )
        if data.ndim == 0:
            rows = [[value]]
    elif isinstance(data, dict):
        columns = columns or [str(k) for k in data]
        rows = [list(data.values())]
    elif isinstance(data, list | tuple):
        if data and all(isinstance(r, dict) for r in data):
            columns = columns or [str(k) for k in data[0]]
            rows = [[r.get(c) for c in columns] for r in data]
        elif data and all(isinstance(r, list | tuple) or hasattr(r, "tolist") for r in data):
            rows = [list(r.tolist() if hasattr(r, "tolist") else r) for r in data]
        else:
            rows = [list(data)]
    else:
        rows = [[data]]
    width = max((len(r) for r in rows), default=0)
    if columns is None:
        columns = [f"feature_{i}" for i in range(width)]
    return columns, rows


class ModelDataCollector:
    """v1's collector: ``ModelDataCollector(model_name, designation="default", feature_names=None, …)``."""

    def __init__(
        self,
        model_name: str,
        designation: str = "default",
        feature_names: list[str] | None = None,
        workspace: str = "default/default/default",
        webservice_name: str = "default",
        model_version: str = "default",
        collection_name: str = "default",
    ) -> None:
        if not model_name:
            raise ValueError("model_name is required")
        self.model_name = model_name
        self.designation = designation
        self.feature_names = list(feature_names) if feature_names is not None else None
        self.workspace = workspace
        self.webservice_name = webservice_name
        self.model_version = (
            str(model_version) if model_version != "default" else _version_of(model_name)
        )
        self.collection_name = collection_name
        self._telemetry: Any = None
        if _enabled():
            from modelport.serving import telemetry

            current = telemetry.current()
            self._telemetry = current if current is not None and current.data else None
        if self._telemetry is None:
            log.info("model data collection is off for %s (%s): collect() stores nothing; deploy "
                     "with collect_model_data=True to turn it on", model_name, designation)  # fmt: skip

    def collect(self, input_data: Any, user_correlation_id: str = "") -> dict[str, Any]:
        """Queue the rows (off the request path); return the correlation data to join on."""
        rid = _request_id() or user_correlation_id or str(uuid.uuid4())
        correlation = {
            CORRELATION: rid,
            TIMESTAMP: datetime.now(UTC).isoformat(),
        }
        if user_correlation_id:
            correlation["$aml_dc_user_correlation_id"] = user_correlation_id
        if self._telemetry is not None:
            columns, rows = to_rows(input_data, self.feature_names)
            key = (self.model_name, self.model_version, self.designation, self.collection_name)
            self._telemetry.collect(rid, key, columns, rows)
        return correlation

    def add_correlations(self, input_data: Any, correlations: dict[str, Any]) -> Any:
        """The input with the correlation columns added (DataFrames); other inputs as given."""
        if hasattr(input_data, "columns") and hasattr(input_data, "assign"):
            return input_data.assign(**{k: v for k, v in correlations.items()})
        return input_data


def _request_id() -> str | None:
    try:
        from modelport.serving.logs import REQUEST_ID
    except ImportError:  # pragma: no cover - the serving package is always there in a replica
        return None
    rid = REQUEST_ID.get()
    return rid if rid and not rid.startswith("00000000-") else None


__all__ = ["ModelDataCollector"]
