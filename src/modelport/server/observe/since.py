"""``--since 1h`` / ``since=2026-12-05T08:00:00Z``: a duration back from now or an instant."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from modelport.errors import UserError

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhdw])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_since(value: str | None, now: datetime | None = None) -> datetime | None:
    if value is None or value == "":
        return None
    now = now or datetime.now(UTC)
    m = _DURATION.match(value.strip().lower())
    if m:
        return now - timedelta(seconds=float(m.group(1)) * _UNITS[m.group(2)])
    try:
        t = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise UserError(
            f"since: {value!r} is neither a duration (30s, 15m, 1h, 2d, 1w) nor an ISO 8601 time"
        ) from None
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)
