"""Settings of the observe features, read from the workspace server's environment (docs/observe.md)."""

from __future__ import annotations

import os
from dataclasses import dataclass


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    return float(raw) if raw not in (None, "") else default


@dataclass(frozen=True)
class ObserveSettings:
    retention_hours: float = 168.0  # telemetry older than this is pruned (7 days)
    ingest_url: str | None = None  # how replicas reach this server, when not its own URL
    otlp_endpoint: str | None = None  # OTEL_EXPORTER_OTLP_ENDPOINT: export telemetry there too
    sweep_seconds: float = 300.0  # how often old telemetry is pruned

    @classmethod
    def from_env(cls) -> ObserveSettings:
        return cls(
            retention_hours=_float("MODELPORT_TELEMETRY_RETENTION_HOURS", cls.retention_hours),
            ingest_url=os.environ.get("MODELPORT_INGEST_URL") or None,
            otlp_endpoint=os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or None,
            sweep_seconds=_float("MODELPORT_TELEMETRY_SWEEP_SECONDS", cls.sweep_seconds),
        )
