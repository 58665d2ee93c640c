"""The inference server's small routes (``/`` health, ``/metrics``, ``/swagger.json``, CORS) and
the helpers every answer goes through, with the app's settings; ``App`` (app.py) adds ``/score``
and the dispatch. The routes' headers, status codes and texts are the original server's.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs

from modelport.serving import telemetry as telemetry_mod
from modelport.serving.admission import Admission
from modelport.serving.batching import Batcher
from modelport.serving.cycle import CLOSE, Cycle
from modelport.serving.entry_script import EntryScript
from modelport.serving.metrics import Metrics
from modelport.serving.responses import GENERIC_INTERNAL_ERROR, error_body
from modelport.serving.runner import Runner
from modelport.serving.swagger import SwaggerDocs, SwaggerError

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

log = logging.getLogger("modelport.serving")
SERVER_VERSION = b"modelport/0.1.0"
JSON = (b"content-type", b"application/json")
TEXT = (b"content-type", b"text/plain; charset=utf-8")
SCORE_METHODS = ("GET", "POST", "OPTIONS")
# the original's texts for these (Werkzeug's NotFound and MethodNotAllowed descriptions)
NOT_FOUND = (
    "The requested URL was not found on the server. If you entered the URL manually please check "
    "your spelling and try again."
)
NOT_ALLOWED = "The method is not allowed for the requested URL."
ALLOW_GET = (b"allow", b"GET, HEAD, OPTIONS")
ALLOW_SCORE = (b"allow", b"GET, OPTIONS, POST")


class State:
    """What the process knows about itself; shared by the main and the health listeners."""

    def __init__(self) -> None:
        self.ready = False
        self.draining = False
        self.script: EntryScript | None = None
        self.runner: Runner | None = None
        self.batcher: Batcher | None = None
        self.swagger: SwaggerDocs | None = None


class Routes:
    """The app's settings and every route but ``/score`` (app.py), with the helpers that answer."""

    def __init__(
        self,
        settings: Any,
        state: State,
        metrics: Metrics,
        admission: Admission,
        auth: Any = None,
        role: str = "main",
    ) -> None:
        self.s = settings
        self.state = state
        self.metrics = metrics
        self.admission = admission
        self.auth = auth
        self.role = role
        self.max_body = int(settings.max_body_bytes)
        self.base_headers: list[tuple[bytes, bytes]] = (
            [(b"x-ms-server-version", SERVER_VERSION)] if settings.server_version_header else []
        )
        origins = [o.strip() for o in (settings.cors_origins or "").split(",") if o.strip()]
        self.cors_any = "*" in origins
        self.cors_origins = {o.encode() for o in origins}
        tel = telemetry_mod.current() if role == "main" else None
        self.telemetry = tel if tel is not None and tel.requests else None
        if tel is not None:
            tel.draining = lambda: state.draining

    # ------------------------------------------------------------------ small routes
    def _common(self, scope: Scope) -> list[tuple[bytes, bytes]]:
        return list(self.base_headers)

    async def _send(
        self, send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> None:
        cycle = getattr(send, "__self__", None)
        if type(cycle) is Cycle:  # our own protocol: the answer in one call, no ASGI messages
            self._answer(cycle, status, headers, body)
            return
        if self.state.draining:  # decided at answer time: keep-alive clients move to a sibling
            headers.append(CLOSE)
        headers.append((b"content-length", b"%d" % len(body)))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _answer(
        self, cycle: Cycle, status: int, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> None:
        """``_send`` on this server's own protocol: a plain call (app.py's /score calls it too)."""
        if self.state.draining:
            headers.append(CLOSE)
        headers.append((b"content-length", b"%d" % len(body)))
        cycle.answer(status, headers, body)

    async def _too_large(self, send: Send, out: list[tuple[bytes, bytes]]) -> int:
        message = f"Request body is larger than the {self.max_body} bytes allowed."
        return await self._fail(send, 413, [*out, CLOSE], message)

    async def _fail(
        self,
        send: Send,
        status: int,
        headers: list[tuple[bytes, bytes]],
        message: str,
        run_headers: bool = True,
    ) -> int:
        extra = exec_headers(0.0, status >= 500) if run_headers else []
        await self._send(send, status, [*headers, *extra, JSON], error_body(message))
        return status

    async def simple(
        self,
        scope: Scope,
        send: Send,
        route: str,
        status: int,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
    ) -> None:
        t0 = time.perf_counter()
        await self._send(send, status, [*self._common(scope), *headers], body)
        self.metrics.request_done(route, status, time.perf_counter() - t0)

    async def health(self, scope: Scope, send: Send) -> None:
        if scope["method"] not in ("GET", "HEAD"):
            await self.simple(
                scope, send, "health", 405, [JSON, ALLOW_GET], error_body(NOT_ALLOWED)
            )
        elif not self.state.ready:
            await self.simple(scope, send, "health", 503, [TEXT], b"init() has not finished")
        elif self.role == "health" and self.state.draining:
            await self.simple(scope, send, "health", 503, [TEXT], b"Draining")
        else:
            await self.simple(scope, send, "health", 200, [TEXT], b"Healthy")

    async def swagger(self, scope: Scope, send: Send) -> None:
        headers = self._cors(scope, _header(scope, b"origin"))
        if scope["method"] not in ("GET", "HEAD"):
            return await self.simple(
                scope, send, "swagger", 405, [*headers, JSON, ALLOW_GET], error_body(NOT_ALLOWED)
            )
        auth_h = _header(scope, b"authorization")
        denied = self.auth.check(auth_h, scope.get("client")) if self.auth else None
        if denied:  # 401, or 429 for a client over its wrong-key budget (auth.py)
            return await self.simple(
                scope, send, "swagger", denied.status, [*headers, JSON, *denied.headers],
                error_body(denied),
            )  # fmt: skip
        if not self.state.ready or self.state.swagger is None:
            return await self.simple(
                scope,
                send,
                "swagger",
                503,
                [*headers, JSON],
                error_body("The service is starting: init() has not finished."),
            )
        version = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("version", [None])[
            0
        ]
        try:
            body = self.state.swagger.get(version)
        except SwaggerError as exc:
            return await self.simple(
                scope, send, "swagger", 404, [*headers, JSON], error_body(str(exc))
            )
        except Exception:
            log.exception("swagger document could not be built")
            return await self.simple(
                scope, send, "swagger", 500, [*headers, JSON], error_body(GENERIC_INTERNAL_ERROR)
            )
        await self.simple(scope, send, "swagger", 200, [*headers, JSON], body)

    def _cors(self, scope: Scope, origin: bytes | None) -> list[tuple[bytes, bytes]]:
        if origin is None or not (self.cors_any or origin in self.cors_origins):
            return []
        headers = [
            (b"access-control-allow-origin", b"*" if self.cors_any else origin),
            (b"vary", b"Origin"),
        ]
        if scope["method"] == "OPTIONS":
            requested = _header(scope, b"access-control-request-headers")
            headers += [
                (b"access-control-allow-methods", b"GET, POST, OPTIONS"),
                (b"access-control-max-age", b"600"),
            ]
            if requested:
                headers.append((b"access-control-allow-headers", requested))
        return headers


def _header(scope: Scope, name: bytes) -> bytes | None:
    for k, v in scope["headers"]:
        if k == name:
            return v  # type: ignore[no-any-return]
    return None


EXEC_MS = b"x-ms-run-fn-exec-ms"
RUN_OK = (b"x-ms-run-function-failed", b"False")
RUN_FAILED = (b"x-ms-run-function-failed", b"True")


def exec_headers(exec_s: float, failed: bool) -> list[tuple[bytes, bytes]]:
    """v1's run() timing and failure headers, on every /score answer."""
    return [(EXEC_MS, b"%.3f" % (exec_s * 1000)), RUN_FAILED if failed else RUN_OK]
