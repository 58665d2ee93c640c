"""Settings of the observe features: ``HOME/observe.json`` (camelCase keys), then environment
variables, then defaults (docs/observe.md)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelport.errors import UserError

FILE = "observe.json"


def _file(home: Path | None) -> dict[str, Any]:
    if home is None:
        return {}
    try:
        data = json.loads((home / FILE).read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise UserError(f"{home / FILE}: {exc}") from None
    if not isinstance(data, dict):
        raise UserError(f"{home / FILE}: expected a JSON object")
    return data


def _camel(name: str) -> str:
    head, *rest = name.lower().split("_")
    return head + "".join(p.title() for p in rest)


@dataclass(frozen=True)
class ObserveSettings:
    retention_hours: float = 168.0  # telemetry older than this is pruned (7 days)
    ingest_url: str | None = None  # how replicas reach this server, when not its own URL
    otlp_endpoint: str | None = None  # OTEL_EXPORTER_OTLP_ENDPOINT: export telemetry there too
    sweep_seconds: float = 300.0  # how often old telemetry is pruned
    webhook_poll_s: float = 0.5  # how often the outbox and due deliveries are looked at
    webhook_backoff_s: float = 10.0  # first retry after this; doubles each time (≤ 1 h)
    webhook_retry_hours: float = 24.0  # then a delivery is Failed (redeliver by hand)
    webhook_timeout_s: float = 10.0  # per POST
    metrics_scrape_s: float = 10.0  # how often replicas' /metrics are scraped
    metrics_history_points: int = 360  # points kept per service (1 h at 10 s)

    @classmethod
    def from_env(cls, home: Path | None = None) -> ObserveSettings:
        data = _file(home)

        def _float(env: str, default: float) -> float:
            raw = os.environ.get(env)
            if raw in (None, ""):
                raw = data.get(_camel(env.removeprefix("MODELPORT_")), default)
            try:
                return float(raw)
            except (TypeError, ValueError):
                raise UserError(f"{env}: {raw!r} is not a number") from None

        return cls(
            retention_hours=_float("MODELPORT_TELEMETRY_RETENTION_HOURS", cls.retention_hours),
            ingest_url=os.environ.get("MODELPORT_INGEST_URL") or None,
            otlp_endpoint=os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or None,
            sweep_seconds=_float("MODELPORT_TELEMETRY_SWEEP_SECONDS", cls.sweep_seconds),
            webhook_poll_s=_float("MODELPORT_WEBHOOK_POLL_S", cls.webhook_poll_s),
            webhook_backoff_s=_float("MODELPORT_WEBHOOK_BACKOFF_S", cls.webhook_backoff_s),
            webhook_retry_hours=_float("MODELPORT_WEBHOOK_RETRY_HOURS", cls.webhook_retry_hours),
            webhook_timeout_s=_float("MODELPORT_WEBHOOK_TIMEOUT_S", cls.webhook_timeout_s),
            metrics_scrape_s=_float("MODELPORT_METRICS_SCRAPE_S", cls.metrics_scrape_s),
            metrics_history_points=int(
                _float("MODELPORT_METRICS_HISTORY_POINTS", cls.metrics_history_points)
            ),
        )
