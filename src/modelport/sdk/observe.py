"""Reading what a service reports: request telemetry (``Webservice.get_telemetry``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from modelport.sdk.webservice import Webservice

KINDS = ("requests", "traces", "exceptions")


def get_telemetry(
    service: Webservice,
    kinds: Sequence[str] | None = None,
    since: str | None = None,
    failed: bool = False,
    request_id: str | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Newest first: the service's requests, traces and exceptions (``appInsightsEnabled``).

    ``kinds``: any of requests, traces, exceptions (default all); ``since``: ``1h``, ``30m``,
    ``2d`` or an ISO time; ``failed``: only requests answered with a status ≥ 400.
    """
    params: dict[str, Any] = {"limit": int(limit)}
    if kinds:
        params["kind"] = list(kinds)
    if since:
        params["since"] = since
    if failed:
        params["failed"] = "true"
    if request_id:
        params["requestId"] = request_id
    answer = service._client.get(f"{service._path}/telemetry", params)
    return list(answer.get("value", []))


def get_model_data(
    service: Webservice,
    designation: str = "inputs",
    since: str | None = None,
    model: str | None = None,
    join: str | None = None,
    format: str = "json",
) -> Any:
    """Rows ModelDataCollector collected (``collect_model_data=True``), oldest first.

    ``join="predictions"`` adds the predictions of the same request (by correlation id) to each
    input row. ``format="json"`` → ``{"columns": [...], "rows": [...]}``; ``"csv"`` → CSV text;
    ``"dataframe"`` → a pandas DataFrame (pandas must be installed).
    """
    params: dict[str, Any] = {
        "designation": designation,
        "format": "csv" if format == "csv" else "json",
    }
    for key, value in (("since", since), ("model", model), ("join", join)):
        if value:
            params[key] = value
    path = f"{service._path}/data"
    if format == "csv":
        return service._client.request("GET", path, params=params).text
    table = service._client.get(path, params)
    if format == "dataframe":
        import pandas as pd

        return pd.DataFrame(table["rows"], columns=table["columns"] or None)
    return table


def get_metrics(service: Webservice, since: str | None = None) -> list[dict[str, Any]]:
    """Oldest first: the service's figures per scrape of its replicas (requests/s, p50/p95/p99
    ms, errors, 503, 504, in-flight, restarts), summed over replicas; about an hour is kept."""
    answer = service._client.get(f"{service._path}/metrics", {"since": since} if since else None)
    return list(answer.get("points", []))
