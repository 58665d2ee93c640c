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
