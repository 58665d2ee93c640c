"""Webhook subscriptions (the Event Grid equivalent): create, list, show, delete, rotate the
secret, read the delivery log and redeliver (docs/observe.md)."""

from __future__ import annotations

import secrets
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Body, Query, Response

from modelport.errors import NotFound, UserError
from modelport.server.api.deps import Ctx, WorkspaceName
from modelport.server.store import webhooks as store
from modelport.server.store import workspaces
from modelport.server.store.base import utcnow
from modelport.server.store.outbox import EVENT_TYPES, full_type

router = APIRouter(tags=["webhooks"])
JsonBody = Annotated[dict[str, Any], Body(...)]
BODY_KEYS = ("name", "url", "eventTypes", "subjectBeginsWith", "schema", "secret")


def _url(value: Any) -> str:
    parts = urlsplit(str(value or ""))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UserError("url: an http:// or https:// URL is required")
    return str(value)


def _secret(value: Any) -> str:
    if value is None:
        return secrets.token_hex(32)
    if not isinstance(value, str) or not 16 <= len(value) <= 256:
        raise UserError("secret: 16 to 256 characters")
    return value


def _types(value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise UserError("eventTypes must be a list")
    out: list[str] = []
    for v in value:
        full = full_type(str(v))
        if full is None:
            names = ", ".join(t.rsplit(".", 1)[-1] for t in EVENT_TYPES)
            raise UserError(f"eventTypes: {v!r} is not one of {names}")
        out.append(full)
    return out


@router.post("/workspaces/{ws}/webhooks", status_code=201)
def create_webhook(ws: WorkspaceName, body: JsonBody, ctx: Ctx) -> dict[str, Any]:
    """Subscribe a URL to events; the answer carries the signing secret (shown only here)."""
    unknown = sorted(set(body) - set(BODY_KEYS))
    if unknown:
        raise UserError(f"unknown key {unknown[0]!r}; allowed: {', '.join(BODY_KEYS)}")
    schema = str(body.get("schema") or "eventgrid").lower()
    if schema not in store.SCHEMAS:
        raise UserError("schema: eventgrid or cloudevents")
    secret = _secret(body.get("secret"))
    sub = store.Subscription(
        workspace=ws, name=str(body.get("name") or ""), url=_url(body.get("url")),
        event_types=_types(body.get("eventTypes")),
        subject_begins_with=body.get("subjectBeginsWith") or None, schema=schema,
        secret_enc=ctx.deploy.box.encrypt(secret), created_time=utcnow(),
    )  # fmt: skip
    with ctx.store.write() as s:
        workspaces.get(s, ws)
        store.create(s, sub)
        return {**store.as_json(sub), "secret": secret}


@router.get("/workspaces/{ws}/webhooks")
def list_webhooks(ws: WorkspaceName, ctx: Ctx) -> dict[str, Any]:
    with ctx.store.read() as s:
        return {"value": [store.as_json(w) for w in store.listing(s, ws)]}


@router.get("/workspaces/{ws}/webhooks/{name}")
def get_webhook(ws: WorkspaceName, name: str, ctx: Ctx) -> dict[str, Any]:
    with ctx.store.read() as s:
        return store.as_json(store.get(s, ws, name))


@router.delete("/workspaces/{ws}/webhooks/{name}", status_code=204)
def delete_webhook(ws: WorkspaceName, name: str, ctx: Ctx) -> Response:
    with ctx.store.write() as s:
        s.delete(store.get(s, ws, name))
    return Response(status_code=204)


@router.post("/workspaces/{ws}/webhooks/{name}/rotateSecret")
def rotate_secret(
    ws: WorkspaceName, name: str, ctx: Ctx, body: Annotated[dict[str, Any] | None, Body()] = None
) -> dict[str, Any]:
    """A new signing secret (given, or generated); deliveries from now on are signed with it."""
    secret = _secret((body or {}).get("secret"))
    with ctx.store.write() as s:
        store.get(s, ws, name).secret_enc = ctx.deploy.box.encrypt(secret)
    return {"name": name, "secret": secret}


@router.get("/workspaces/{ws}/webhooks/{name}/deliveries")
def list_deliveries(
    ws: WorkspaceName, name: str, ctx: Ctx, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> dict[str, Any]:
    """Newest first: each delivery's state and its attempt log."""
    with ctx.store.read() as s:
        pairs = store.deliveries(s, store.get(s, ws, name), limit)
        logs = store.attempts_of(s, [d.id for d, _ in pairs])
        return {"value": [store.delivery_json(d, e, logs[d.id]) for d, e in pairs]}


@router.post("/workspaces/{ws}/webhooks/{name}/deliveries/{delivery_id}/redeliver", status_code=202)
def redeliver(ws: WorkspaceName, name: str, delivery_id: int, ctx: Ctx) -> dict[str, Any]:
    """Send a delivery again (a Failed one, or a Delivered one the receiver lost)."""
    with ctx.store.write() as s:
        sub = store.get(s, ws, name)
        d = s.get(store.Delivery, delivery_id)
        if d is None or d.subscription_id != sub.id:
            raise NotFound(f"delivery {delivery_id} not found for webhook {name!r}")
        d.state, d.next_attempt_at, d.claimed_until, d.claimed_by = (
            store.PENDING,
            utcnow(),
            None,
            None,
        )
        d.created_time = utcnow()  # the retry window starts again
        return {"id": d.id, "state": d.state}
