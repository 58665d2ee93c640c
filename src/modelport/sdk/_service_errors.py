"""The exception of a service operation that ended badly, in Azure ML v1's message shape.

The class itself lives in :mod:`modelport.errors` with the rest of the public error tree.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from modelport.errors import WebserviceException

__all__ = ["LOG_TAIL", "WebserviceException", "operation_failure"]

LOG_TAIL = 20


def operation_failure(
    state: str | None,
    operation: Mapping[str, Any],
    service_error: Mapping[str, Any] | None,
    operation_id: str | None,
    log_tail: Callable[[], list[str]],
) -> WebserviceException:
    """v1's "non-successful terminal state" message, plus the typed cause and the log lines that
    explain it (the error's own details, else the end of the service log)."""
    error = operation.get("error") or service_error or {}
    details = [str(line) for line in error.get("details") or []]
    tail = details[-LOG_TAIL:] if details else log_tail()
    cause = error.get("code") or "Failed"
    message = error.get("message") or "the operation failed"
    op_id = str(operation.get("id", operation_id))
    text = (
        "Service deployment polling reached non-successful terminal state, current service "
        f"state: {state}\nOperation ID: {op_id}\n"
        "More information can be found using '.get_logs()'\n"
        f"Error: {cause}: {message}\n" + json.dumps({"code": cause, "message": message}, indent=2)
    )
    if tail:
        text += "\nLog tail:\n" + "\n".join(tail)
    return WebserviceException(
        text,
        state=state,
        operation_id=op_id,
        error={"code": cause, "message": message, "details": details},
        logs_tail=tail,
    )
