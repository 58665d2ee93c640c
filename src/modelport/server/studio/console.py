"""The test console: send a request to a service's scoring URI from the server, and the
example body its swagger document gives. The URI is the service's own, never one a user typed."""

from __future__ import annotations

import contextlib
import json
import ssl
import time
from dataclasses import dataclass
from typing import Any

import httpx

from modelport.errors import UserError

MAX_SHOWN = 64 * 1024  # characters of an answer shown in the page
DEFAULT_BODY = '{"data": [[]]}'


@dataclass(frozen=True)
class Answer:
    status: int
    latency_ms: float
    content_type: str
    body: str
    truncated: bool


def parse_headers(text: str) -> dict[str, str]:
    """``Name: value`` lines → a dict; a line without a colon is an error naming it."""
    headers: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        name, colon, value = line.partition(":")
        if not colon or not name.strip():
            raise UserError(f"header line {line.strip()!r}: write Name: value")
        headers[name.strip()] = value.strip()
    return headers


def _verify(service: dict[str, Any]) -> ssl.SSLContext | bool:
    cert = service.get("sslCertificate")
    if service.get("sslEnabled") and cert:
        return ssl.create_default_context(cadata=str(cert))
    return True


async def send(
    service: dict[str, Any],
    method: str,
    body: str,
    headers: dict[str, str],
    timeout: float = 70.0,
    path: str = "/score",
) -> Answer:
    """One request to the service (``path`` replaces ``/score``: the charts read ``/metrics``)."""
    uri = service.get("scoringUri")
    if not uri:
        raise UserError(f"service {service.get('name')} has no scoring URI yet")
    uri = uri.rsplit("/", 1)[0] + path
    if method not in ("POST", "GET"):
        raise UserError("method: POST or GET")
    if method == "POST" and not any(k.lower() == "content-type" for k in headers):
        headers = {**headers, "Content-Type": "application/json"}
    async with httpx.AsyncClient(verify=_verify(service), timeout=timeout) as client:
        t0 = time.perf_counter()
        try:
            r = await client.request(
                method, uri, content=body.encode() if method == "POST" else None, headers=headers
            )
        except httpx.HTTPError as exc:
            raise UserError(f"could not reach {uri}: {exc}") from exc
        latency = (time.perf_counter() - t0) * 1000
    text = r.text
    with contextlib.suppress(ValueError):  # pretty-print JSON; anything else shown as it came
        text = json.dumps(r.json(), indent=2)
    return Answer(
        r.status_code, latency, r.headers.get("content-type", ""), text[:MAX_SHOWN],
        len(text) > MAX_SHOWN,
    )  # fmt: skip


async def swagger_example(service: dict[str, Any]) -> str | None:
    """The example input of the service's swagger document (scripts with a schema have one)."""
    uri = service.get("swaggerUri")
    if not uri or service.get("state") != "Healthy":
        return None
    try:
        async with httpx.AsyncClient(verify=_verify(service), timeout=5.0) as client:
            doc = (await client.get(uri)).json()
    except (httpx.HTTPError, ValueError):
        return None
    return example_from(doc)


def example_from(doc: Any) -> str | None:
    """``ServiceInput``'s example of a swagger 2 or OpenAPI 3 document, as indented JSON."""
    if not isinstance(doc, dict):
        return None
    schemas = doc.get("definitions") or (doc.get("components") or {}).get("schemas") or {}
    example = (schemas.get("ServiceInput") or {}).get("example")
    return json.dumps(example, indent=2) if example is not None else None
