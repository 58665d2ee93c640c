"""Request telemetry of services: requests, traces and exceptions reported by replicas.

One table with a ``kind`` column: the three kinds share the keys they are queried by
(service, time, request id) and a batch from a replica is one multi-row INSERT.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, Index, Integer, String, Text, delete, insert, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from modelport.server.store.base import Base, Json, UTCDateTime

KINDS = ("request", "trace", "exception")


class TelemetryRecord(Base):
    __tablename__ = "telemetry_records"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    workspace: Mapped[str] = mapped_column(String(255))
    service: Mapped[str] = mapped_column(String(255))
    revision: Mapped[int] = mapped_column(Integer)
    replica: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(16))
    time: Mapped[datetime] = mapped_column(UTCDateTime)
    request_id: Mapped[str | None] = mapped_column(String(255))
    client_request_id: Mapped[str | None] = mapped_column(String(255))
    method: Mapped[str | None] = mapped_column(String(16))
    path: Mapped[str | None] = mapped_column(String(2048))
    status: Mapped[int | None] = mapped_column(Integer)
    success: Mapped[bool | None] = mapped_column(Boolean)
    duration_ms: Mapped[float | None] = mapped_column(Float)
    models: Mapped[str | None] = mapped_column(String(2048))
    message: Mapped[str | None] = mapped_column(Text)
    data: Mapped[Any] = mapped_column(Json, nullable=True)

    __table_args__ = (
        Index("ix_telemetry_records_service_time", "workspace", "service", "kind", "time"),
        Index("ix_telemetry_records_request", "workspace", "service", "request_id"),
        Index("ix_telemetry_records_time", "time"),
    )


COLUMNS = tuple(c.name for c in TelemetryRecord.__table__.columns if c.name != "id")


def add(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """One multi-row INSERT for a replica's batch."""
    if rows:
        session.execute(insert(TelemetryRecord), list(rows))


def query(
    session: Session,
    workspace: str,
    service: str,
    kinds: Iterable[str],
    since: datetime | None = None,
    failed: bool = False,
    request_id: str | None = None,
    limit: int = 100,
) -> list[TelemetryRecord]:
    """Newest first."""
    stmt = select(TelemetryRecord).where(
        TelemetryRecord.workspace == workspace,
        TelemetryRecord.service == service,
        TelemetryRecord.kind.in_(list(kinds)),
    )
    if since is not None:
        stmt = stmt.where(TelemetryRecord.time >= since)
    if failed:
        stmt = stmt.where(TelemetryRecord.success.is_(False))
    if request_id:
        stmt = stmt.where(TelemetryRecord.request_id == request_id)
    stmt = stmt.order_by(TelemetryRecord.time.desc(), TelemetryRecord.id.desc()).limit(limit)
    return list(session.scalars(stmt))


def prune(session: Session, before: datetime) -> int:
    """Drop records older than the retention window; the number removed."""
    result = session.execute(delete(TelemetryRecord).where(TelemetryRecord.time < before))
    return int(getattr(result, "rowcount", 0) or 0)


def as_json(r: TelemetryRecord) -> dict[str, Any]:
    out: dict[str, Any] = {
        "kind": r.kind,
        "time": r.time.isoformat(),
        "requestId": r.request_id,
        "revision": r.revision,
        "replica": r.replica,
    }
    if r.kind == "request":
        out.update(
            clientRequestId=r.client_request_id,
            method=r.method,
            path=r.path,
            status=r.status,
            success=r.success,
            durationMs=r.duration_ms,
            models=r.models.split(",") if r.models else [],
        )
        if r.data is not None:
            out["responseBody"] = r.data.get("responseBody")
    else:
        out["message"] = r.message
        if r.data is not None:
            out["fields"] = r.data
    return out
