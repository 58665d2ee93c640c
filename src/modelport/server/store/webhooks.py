"""Webhook subscriptions, their deliveries (one per event and subscription) and the attempt log.

Deliveries are claimed with a lease (``claimed_until``) taken in a write transaction; on
PostgreSQL the candidate rows are locked ``FOR UPDATE SKIP LOCKED``, so several workspace servers
on one database each take different deliveries and an event is delivered once in the normal
case (at least once if a server dies holding a lease: the lease expires and another retries).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    or_,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from modelport.errors import Conflict, NotFound, UserError
from modelport.server.store.base import Base, Json, UTCDateTime, iso, utcnow
from modelport.server.store.outbox import OutboxEvent

PENDING, DELIVERED, FAILED = "Pending", "Delivered", "Failed"
SCHEMAS = ("eventgrid", "cloudevents")
NAME_RULE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class Subscription(Base):
    __tablename__ = "webhook_subscriptions"
    __table_args__ = (
        UniqueConstraint("workspace", "name", name="uq_webhook_subscriptions_workspace_name"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    workspace: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(64))
    url: Mapped[str] = mapped_column(Text)
    event_types: Mapped[list[str]] = mapped_column(Json, default=list)  # empty: every type
    subject_begins_with: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    schema: Mapped[str] = mapped_column(String(16), default="eventgrid")
    secret_enc: Mapped[str] = mapped_column(Text)
    created_time: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Delivery(Base):
    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_pk: Mapped[int] = mapped_column(ForeignKey("event_outbox.id", ondelete="CASCADE"))
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_subscriptions.id", ondelete="CASCADE")
    )
    state: Mapped[str] = mapped_column(String(16), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    claimed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    last_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_time: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_time: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    __table_args__ = (
        Index("ix_webhook_deliveries_due", "state", "next_attempt_at"),
        Index("ix_webhook_deliveries_subscription", "subscription_id", "id"),
    )


class Attempt(Base):
    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE")
    )
    time: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    duration_ms: Mapped[float] = mapped_column(Float, default=0.0)
    server: Mapped[str | None] = mapped_column(String(64), nullable=True)

    __table_args__ = (Index("ix_webhook_attempts_delivery", "delivery_id", "id"),)


# -- subscriptions -----------------------------------------------------------------------------


def find(session: Session, workspace: str, name: str) -> Subscription | None:
    return session.scalar(
        select(Subscription).where(Subscription.workspace == workspace, Subscription.name == name)
    )


def get(session: Session, workspace: str, name: str) -> Subscription:
    sub = find(session, workspace, name)
    if sub is None:
        raise NotFound(f"webhook {name!r} not found in workspace {workspace!r}")
    return sub


def create(session: Session, sub: Subscription) -> Subscription:
    if not NAME_RULE.match(sub.name):
        raise UserError(
            "name: 1-64 of letters, digits, '.', '_', '-', starting with a letter or digit"
        )
    if find(session, sub.workspace, sub.name) is not None:
        raise Conflict(f"webhook {sub.name!r} already exists in workspace {sub.workspace!r}")
    session.add(sub)
    session.flush()
    return sub


def listing(session: Session, workspace: str) -> list[Subscription]:
    return list(
        session.scalars(
            select(Subscription)
            .where(Subscription.workspace == workspace)
            .order_by(Subscription.name)
        )
    )


def as_json(sub: Subscription) -> dict[str, Any]:
    return {"name": sub.name, "url": sub.url, "eventTypes": list(sub.event_types or []),
            "subjectBeginsWith": sub.subject_begins_with, "schema": sub.schema,
            "createdTime": iso(sub.created_time)}  # fmt: skip


def matches(sub: Subscription, event: OutboxEvent) -> bool:
    if sub.workspace != event.workspace:
        return False
    if sub.event_types and event.event_type not in sub.event_types:
        return False
    return not sub.subject_begins_with or event.subject.startswith(sub.subject_begins_with)


# -- fan-out and claims ------------------------------------------------------------------------


def _locked(session: Session, stmt: Any) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return stmt.with_for_update(skip_locked=True)
    return stmt  # SQLite: the write transaction (BEGIN IMMEDIATE) already excludes others


def work_waiting(session: Session) -> bool:
    """Whether an event waits for fan-out or a delivery is due (a read, before any write lock)."""
    now = utcnow()
    event = session.scalar(select(OutboxEvent.id).where(OutboxEvent.dispatched.is_(False)).limit(1))
    if event is not None:
        return True
    due = select(Delivery.id).where(
        Delivery.state == PENDING,
        Delivery.next_attempt_at <= now,
        or_(Delivery.claimed_until.is_(None), Delivery.claimed_until < now),
    )
    return session.scalar(due.limit(1)) is not None


def fan_out(session: Session, limit: int = 200) -> int:
    """Turn undispatched outbox rows into one delivery per matching subscription; how many events."""
    events = list(session.scalars(_locked(session, select(OutboxEvent).where(OutboxEvent.dispatched.is_(False))
                                          .order_by(OutboxEvent.id).limit(limit))))  # fmt: skip
    if not events:
        return 0
    subs = list(
        session.scalars(
            select(Subscription).where(Subscription.workspace.in_({e.workspace for e in events}))
        )
    )
    now = utcnow()
    for e in events:
        for sub in subs:
            if matches(sub, e) and sub.created_time <= e.event_time:
                session.add(Delivery(event_pk=e.id, subscription_id=sub.id, state=PENDING, attempts=0,
                                     next_attempt_at=now, created_time=now))  # fmt: skip
        e.dispatched = True
    return len(events)


def claim(session: Session, owner: str, lease: timedelta, limit: int = 20) -> list[int]:
    """Take due deliveries for ``lease``; their ids."""
    now = utcnow()
    stmt = (
        select(Delivery)
        .where(
            Delivery.state == PENDING,
            Delivery.next_attempt_at <= now,
            or_(Delivery.claimed_until.is_(None), Delivery.claimed_until < now),
        )
        .order_by(Delivery.next_attempt_at, Delivery.id)
        .limit(limit)
    )
    rows = list(session.scalars(_locked(session, stmt)))
    for d in rows:
        d.claimed_until, d.claimed_by = now + lease, owner
    return [d.id for d in rows]


def deliveries(
    session: Session, sub: Subscription, limit: int = 100
) -> list[tuple[Delivery, OutboxEvent]]:
    stmt = (
        select(Delivery, OutboxEvent)
        .join(OutboxEvent, OutboxEvent.id == Delivery.event_pk)
        .where(Delivery.subscription_id == sub.id)
        .order_by(Delivery.id.desc())
        .limit(limit)
    )
    return [(d, e) for d, e in session.execute(stmt)]


def attempts_of(session: Session, delivery_ids: list[int]) -> dict[int, list[Attempt]]:
    out: dict[int, list[Attempt]] = {i: [] for i in delivery_ids}
    if delivery_ids:
        for a in session.scalars(
            select(Attempt).where(Attempt.delivery_id.in_(delivery_ids)).order_by(Attempt.id)
        ):
            out[a.delivery_id].append(a)
    return out


def delivery_json(d: Delivery, e: OutboxEvent, attempts: list[Attempt]) -> dict[str, Any]:
    return {
        "id": d.id, "eventId": e.event_id, "eventType": e.event_type, "subject": e.subject,
        "eventTime": iso(e.event_time), "state": d.state, "attempts": d.attempts,
        "lastStatus": d.last_status, "lastError": d.last_error,
        "nextAttemptTime": iso(d.next_attempt_at) if d.state == PENDING else None,
        "deliveredTime": iso(d.delivered_time),
        "log": [{"time": iso(a.time), "status": a.status, "error": a.error, "durationMs": a.duration_ms,
                 "server": a.server} for a in attempts],
    }  # fmt: skip
