"""Webhook delivery: outbox rows fanned out to subscriptions, POSTed signed, retried, logged.

One dispatcher thread per workspace server. Each pass (every ``MODELPORT_WEBHOOK_POLL_S``):
1. fan-out: undispatched outbox rows become one delivery per matching subscription (one
   transaction, so an event is fanned out exactly once even with several servers);
2. claim: due deliveries are leased to this server (``FOR UPDATE SKIP LOCKED`` on PostgreSQL);
3. deliver: POST the envelope with ``webhook-id``/``webhook-timestamp``/``webhook-signature``
   headers (HMAC-SHA256 of ``<timestamp>.<body>`` with the subscription's secret); a 2xx answer
   acknowledges it, anything else is retried after ``base · 2^(attempts-1)`` seconds (at most
   an hour between tries) until ``MODELPORT_WEBHOOK_RETRY_HOURS`` (24 h) have passed, then Failed.
Every attempt is logged (``modelport webhook deliveries``).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import socket
import threading
import time
import uuid
from datetime import timedelta
from typing import Any

import httpx
import orjson

from modelport.server.context import ServerContext
from modelport.server.observe.settings import ObserveSettings
from modelport.server.store import webhooks as store
from modelport.server.store.base import utcnow
from modelport.server.store.outbox import OutboxEvent

log = logging.getLogger("modelport.server.webhooks")
LEASE = timedelta(seconds=60)
MAX_BACKOFF_S = 3600.0
USER_AGENT = "modelport-webhooks/1"


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>`` of ``<timestamp>.<body>``: what a receiver recomputes to trust a call."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def topic(workspace: str) -> str:
    return f"/modelport/workspaces/{workspace}"


def envelope(e: OutboxEvent, schema: str) -> tuple[bytes, str]:
    """(body, content type) in Event Grid's schema (a one-event array) or CloudEvents 1.0."""
    when = e.event_time.isoformat().replace("+00:00", "Z")
    if schema == "cloudevents":
        doc: Any = {"specversion": "1.0", "id": e.event_id, "source": topic(e.workspace),
                    "type": e.event_type, "subject": e.subject, "time": when,
                    "datacontenttype": "application/json", "data": e.data}  # fmt: skip
        return orjson.dumps(doc), "application/cloudevents+json"
    doc = [{"id": e.event_id, "topic": topic(e.workspace), "subject": e.subject,
            "eventType": e.event_type, "eventTime": when, "data": e.data,
            "dataVersion": "", "metadataVersion": "1"}]  # fmt: skip
    return orjson.dumps(doc), "application/json"


def backoff(settings: ObserveSettings, attempts: int) -> float:
    return float(min(settings.webhook_backoff_s * 2 ** max(attempts - 1, 0), MAX_BACKOFF_S))


class Dispatcher:
    def __init__(self, ctx: ServerContext, settings: ObserveSettings) -> None:
        self.ctx = ctx
        self.settings = settings
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"[:64]
        self.http = httpx.Client(timeout=settings.webhook_timeout_s, follow_redirects=False,
                                 headers={"User-Agent": USER_AGENT})  # fmt: skip

    def run(self, stopping: threading.Event) -> None:
        while not stopping.wait(self.settings.webhook_poll_s):
            try:
                while self.tick() and not stopping.is_set():
                    pass  # a full batch: go again at once
            except Exception:  # the next pass tries again
                log.exception("webhook dispatch pass failed")
        self.http.close()

    def tick(self) -> bool:
        """One pass; True when there may be more work right away."""
        with self.ctx.store.read() as s:
            if not store.work_waiting(s):  # idle: no write transaction (SQLite's single writer)
                return False
        with self.ctx.store.write() as s:
            fanned = store.fan_out(s)
        with self.ctx.store.write() as s:
            claimed = store.claim(s, self.owner, LEASE)
        for delivery_id in claimed:
            self.deliver(delivery_id)
        return fanned >= 200 or len(claimed) >= 20

    def deliver(self, delivery_id: int) -> None:
        with self.ctx.store.read() as s:
            d = s.get(store.Delivery, delivery_id)
            e = s.get(OutboxEvent, d.event_pk) if d is not None else None
            sub = s.get(store.Subscription, d.subscription_id) if d is not None else None
        if d is None or e is None or sub is None or d.claimed_by != self.owner:
            return
        body, content_type = envelope(e, sub.schema)
        secret = self.ctx.deploy.box.decrypt(sub.secret_enc)
        stamp = str(int(time.time()))
        headers = {"Content-Type": content_type, "webhook-id": e.event_id, "webhook-timestamp": stamp,
                   "webhook-signature": signature(secret, stamp, body), "aeg-event-type": "Notification"}  # fmt: skip
        t0 = time.perf_counter()
        status: int | None = None
        error: str | None = None
        try:
            answer = self.http.post(sub.url, content=body, headers=headers)
            status = answer.status_code
            if not answer.is_success:
                error = f"HTTP {status}: {answer.text[:200]}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
        self._record(delivery_id, status, error, (time.perf_counter() - t0) * 1000)

    def _record(self, delivery_id: int, status: int | None, error: str | None, ms: float) -> None:
        now = utcnow()
        with self.ctx.store.write() as s:
            d = s.get(store.Delivery, delivery_id)
            if d is None:
                return
            s.add(store.Attempt(delivery_id=d.id, time=now, status=status, error=error,
                                duration_ms=round(ms, 3), server=self.owner))  # fmt: skip
            d.attempts += 1
            d.last_status, d.last_error, d.claimed_until, d.claimed_by = status, error, None, None
            if error is None:
                d.state, d.delivered_time = store.DELIVERED, now
            elif now - d.created_time >= timedelta(hours=self.settings.webhook_retry_hours):
                d.state = store.FAILED
            else:
                d.next_attempt_at = now + timedelta(seconds=backoff(self.settings, d.attempts))
