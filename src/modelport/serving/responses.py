"""Turning what run() returns into an HTTP answer: fast JSON, response objects passed through."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import uuid
from typing import Any

import orjson

_OPTS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS

GENERIC_RUN_ERROR = "An unexpected error occurred in scoring script. Check the logs for more info."
GENERIC_INTERNAL_ERROR = "An unexpected internal error occurred. Check the logs for more info."


def _default(obj: Any) -> Any:
    """Values orjson does not know: numpy/pandas scalars and containers, sets, decimals."""
    tolist = getattr(obj, "tolist", None)
    module = type(obj).__module__.split(".", 1)[0]
    if module == "pandas":
        name = type(obj).__name__
        if name == "DataFrame":
            return obj.to_dict(orient="records")
        if name in ("Series", "Index"):
            return obj.tolist()
        if name == "Timestamp":
            return obj.isoformat()
        if name == "Timedelta":
            return str(obj)
        if obj is getattr(__import__("pandas"), "NA", None) or name in ("NaTType", "NAType"):
            return None
    if module == "numpy":
        if hasattr(obj, "dtype") and obj.dtype.kind in "mM":
            return str(obj)
        if tolist is not None:
            return tolist()
    if isinstance(obj, set | frozenset | tuple):
        return list(obj)
    if isinstance(obj, decimal.Decimal):
        return float(obj)
    if isinstance(obj, bytes | bytearray):
        return bytes(obj).decode("utf-8", "replace")
    if isinstance(obj, dt.timedelta):
        return str(obj)
    if isinstance(obj, uuid.UUID):
        return str(obj)
    if tolist is not None:
        return tolist()
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


def dumps(obj: Any) -> bytes:
    """JSON bytes of a run() result (orjson; the stdlib for what orjson refuses, e.g. huge ints)."""
    try:
        return orjson.dumps(obj, default=_default, option=_OPTS)
    except TypeError:
        return json.dumps(obj, default=_default).encode("utf-8")


def error_body(message: str) -> bytes:
    return orjson.dumps({"message": message})


def is_response_object(obj: Any) -> bool:
    """An AMLResponse (ours or the real Flask-based one) or any Flask/Werkzeug-like response."""
    return (
        hasattr(obj, "status_code")
        and hasattr(obj, "headers")
        and (hasattr(obj, "body") or hasattr(obj, "get_data"))
    )


def response_stream(obj: Any) -> Any:
    """The chunks of a streamed response object (ours, or a Flask/Werkzeug one), else None."""
    if getattr(obj, "is_streamed", False) is True:
        return getattr(obj, "response", None)
    return None


def unpack_response(obj: Any) -> tuple[int, list[tuple[bytes, bytes]], bytes, bool]:
    """(status, headers, body, run_function_failed) of a response object run() returned; the
    body of a streamed one is left unread (see :func:`response_stream`)."""
    if response_stream(obj) is not None:
        body: Any = b""
    elif hasattr(obj, "body") and isinstance(obj.body, bytes):
        body = obj.body
    else:
        body = obj.get_data()
    if isinstance(body, str):
        body = body.encode("utf-8")
    raw_headers = obj.headers
    items = (
        raw_headers.items()
        if hasattr(raw_headers, "items") and not isinstance(raw_headers, list)
        else raw_headers
    )
    headers: list[tuple[bytes, bytes]] = []
    failed = bool(getattr(obj, "run_function_failed", False))
    for name, value in items:
        lname = str(name).lower()
        if lname in ("content-length", "connection", "transfer-encoding"):
            continue
        if lname == "x-ms-run-function-failed":
            failed = failed or str(value).lower() == "true"
            continue
        headers.append((lname.encode("latin-1"), str(value).encode("latin-1")))
    status = int(obj.status_code)
    return status, headers, bytes(body), failed or status >= 500
