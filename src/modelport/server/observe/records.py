"""A replica's JSON batch → telemetry rows (validated: the sender is a replica, not trusted code)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from modelport.errors import UserError

MAX_RECORDS = 50_000
TEXT_KINDS = {1: "trace", 2: "exception"}  # serving/telemetry.py's TRACE, EXCEPTION


def expand(batch: dict[str, Any]) -> list[dict[str, Any]]:
    """The replica's compact rows (serving/telemetry.py: ``encode``) as one object per record."""
    requests, texts = batch.get("requests") or [], batch.get("texts") or []
    if not isinstance(requests, list) or not isinstance(texts, list):
        raise UserError("'requests' and 'texts' must be lists")
    if len(requests) + len(texts) > MAX_RECORDS:
        raise UserError(f"a batch holds at most {MAX_RECORDS} records")
    out: list[dict[str, Any]] = []
    try:
        for t, rid, cid, method, path, status, seconds, body in requests:
            rec = {"kind": "request", "time": t, "requestId": rid, "clientRequestId": cid,
                   "method": method, "path": path, "status": status,
                   "durationMs": round(float(seconds) * 1000, 3)}  # fmt: skip
            if body is not None:
                rec["responseBody"] = body
            out.append(rec)
        for kind, t, rid, text in texts:
            rec = {"kind": TEXT_KINDS.get(kind, "?"), "time": t, "requestId": rid, "message": text}
            fields = _json_object(text) if kind == 1 else None
            if fields is not None:
                rec["fields"] = fields
            out.append(rec)
    except (TypeError, ValueError):
        raise UserError("malformed telemetry rows in the batch") from None
    return out


def _json_object(text: Any) -> dict[str, Any] | None:
    """JSON printed by the script becomes structured fields (App Insights' customDimensions)."""
    if not isinstance(text, str) or not text.lstrip().startswith("{"):
        return None
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def _time(value: Any) -> datetime:
    if not isinstance(value, int | float):
        raise UserError("each record needs a numeric 'time' (seconds since the epoch)")
    return datetime.fromtimestamp(float(value), UTC)


def _str(value: Any, limit: int) -> str | None:
    return None if value is None else str(value)[:limit]


def rows(
    workspace: str, service: str, batch: dict[str, Any], records: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    try:
        revision = int(batch.get("revision") or 0)
    except (TypeError, ValueError):
        raise UserError("'revision' must be an integer") from None
    common = {
        "workspace": workspace,
        "service": service,
        "revision": revision,
        "replica": _str(batch.get("replica"), 255) or "",
    }
    models = _str(batch.get("models"), 2048) or None
    out: list[dict[str, Any]] = []
    for r in records:
        if not isinstance(r, dict) or r.get("kind") not in ("request", "trace", "exception"):
            raise UserError("each record needs 'kind': request, trace or exception")
        row: dict[str, Any] = {
            **common,
            "kind": r["kind"],
            "time": _time(r.get("time")),
            "request_id": _str(r.get("requestId"), 255),
            "client_request_id": None,
            "method": None,
            "path": None,
            "status": None,
            "success": None,
            "duration_ms": None,
            "models": None,
            "message": None,
            "data": None,
        }
        if r["kind"] == "request":
            status = int(r.get("status") or 0)
            row.update(
                client_request_id=_str(r.get("clientRequestId"), 255),
                method=_str(r.get("method"), 16),
                path=_str(r.get("path"), 2048),
                status=status,
                success=status < 400,
                duration_ms=float(r.get("durationMs") or 0.0),
                models=models,
            )
            if r.get("responseBody") is not None:
                row["data"] = {"responseBody": str(r["responseBody"])}
        else:
            row["message"] = _str(r.get("message"), 64 * 1024)
            if isinstance(r.get("fields"), dict):
                row["data"] = r["fields"]
        out.append(row)
    return out
