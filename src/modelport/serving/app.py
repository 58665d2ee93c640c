"""The ASGI application: routes, headers and status codes of the original server, on a plain-ASGI hot path."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs

from modelport.serving import inputs, request_ids
from modelport.serving import telemetry as telemetry_mod
from modelport.serving.admission import Admission, Overloaded
from modelport.serving.batching import Batcher, BatchError
from modelport.serving.entry_script import EntryScript
from modelport.serving.logs import access_enabled, log_access
from modelport.serving.metrics import Metrics
from modelport.serving.responses import (
    GENERIC_INTERNAL_ERROR,
    GENERIC_RUN_ERROR,
    dumps,
    error_body,
    is_response_object,
    response_stream,
    unpack_response,
)
from modelport.serving.runner import Runner, ScoringTimeout
from modelport.serving.streaming import send_stream
from modelport.serving.swagger import SwaggerDocs, SwaggerError

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

log = logging.getLogger("modelport.serving")
SERVER_VERSION = b"modelport/0.1.0"
JSON = (b"content-type", b"application/json")
TEXT = (b"content-type", b"text/plain; charset=utf-8")
CLOSE = (b"connection", b"close")
SCORE_METHODS = ("GET", "POST", "OPTIONS")
# the original's texts for these (Werkzeug's NotFound and MethodNotAllowed descriptions)
NOT_FOUND = (
    "The requested URL was not found on the server. If you entered the URL manually please check "
    "your spelling and try again."
)
NOT_ALLOWED = "The method is not allowed for the requested URL."
ALLOW_GET = (b"allow", b"GET, HEAD, OPTIONS")
ALLOW_SCORE = (b"allow", b"GET, OPTIONS, POST")


class BodyTooLarge(Exception):
    pass


class ClientGone(Exception):
    pass


class State:
    """What the process knows about itself; shared by the main and the health listeners."""

    def __init__(self) -> None:
        self.ready = False
        self.draining = False
        self.script: EntryScript | None = None
        self.runner: Runner | None = None
        self.batcher: Batcher | None = None
        self.swagger: SwaggerDocs | None = None


class App:
    """``role="main"`` serves every route; ``role="health"`` only ``/`` and ``/metrics``."""

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

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        path = scope["path"]
        if path == "/score" and self.role == "main":
            await self.score(scope, receive, send)
        elif path == "/":
            await self.health(scope, send)
        elif path == "/metrics":
            await self.simple(
                scope,
                send,
                "metrics",
                200,
                [(b"content-type", b"text/plain; version=0.0.4; charset=utf-8")],
                self.metrics.render(),
            )
        elif path == "/swagger.json" and self.role == "main":
            await self.swagger(scope, send)
        else:
            await self.simple(scope, send, "other", 404, [JSON], error_body(NOT_FOUND))

    # ------------------------------------------------------------------ small routes
    def _common(self, scope: Scope) -> list[tuple[bytes, bytes]]:
        return list(self.base_headers)

    async def _send(
        self, send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> None:
        if self.state.draining:  # decided at answer time: keep-alive clients move to a sibling
            headers.append(CLOSE)
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

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
        extra = _run_headers(0.0, status >= 500) if run_headers else []
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

    # ------------------------------------------------------------------ /score
    async def score(self, scope: Scope, receive: Receive, send: Send) -> None:
        t0 = time.perf_counter()
        m = self.metrics
        m.in_flight += 1
        status, rid, exec_s = 500, "", 0.0
        try:
            status, rid, exec_s = await self._score(scope, receive, send)
        except ClientGone:
            status = 499
        finally:
            m.in_flight -= 1
            elapsed = time.perf_counter() - t0
            m.request_done("score", status, elapsed)
            if self.telemetry is not None:  # a list append; reported off the request path
                self.telemetry.request(scope, status, rid, elapsed)
            if access_enabled():
                log_access(method=scope["method"], path=scope["path"], status=status, request_id=rid,
                           duration_ms=round(elapsed * 1000, 3), run_ms=round(exec_s * 1000, 3),
                           client=(scope.get("client") or ("",))[0])  # fmt: skip

    async def _score(self, scope: Scope, receive: Receive, send: Send) -> tuple[int, str, float]:
        rid_h = cid_h = msid_h = trace_h = ctype = clen = origin = auth_h = None
        for k, v in scope["headers"]:
            if k == b"content-type":
                ctype = v
            elif k == b"content-length":
                clen = v
            elif k == b"x-request-id":
                rid_h = v
            elif k == b"x-ms-client-request-id":
                cid_h = v
            elif k == b"x-ms-request-id":
                msid_h = v
            elif k == b"traceid":
                trace_h = v
            elif k == b"origin":
                origin = v
            elif k == b"authorization":
                auth_h = v
        out = self._common(scope)
        if origin is not None:
            out += self._cors(scope, origin)
        try:
            rid, id_headers = request_ids.resolve(rid_h, cid_h, msid_h, trace_h)
        except request_ids.TooLong as exc:
            return await self._fail(send, 431, [*out, *exc.headers, CLOSE], str(exc)), "", 0.0
        out += id_headers
        # a CORS pre-flight carries no credentials; it only reaches run() in @rawhttp mode
        preflight = scope["method"] == "OPTIONS" and (
            self.state.script is None or self.state.script.mode != "rawhttp"
        )
        if self.auth is not None and not preflight:
            denied = self.auth.check(auth_h, scope.get("client"))
            if denied:  # 401, or 429 for a client over its wrong-key budget (auth.py)
                return (
                    await self._fail(send, denied.status, [*out, *denied.headers], denied),
                    rid,
                    0.0,
                )
        state = self.state
        script = state.script
        if not state.ready or script is None:
            return (
                await self._fail(
                    send, 503, out, "The service is starting: init() has not finished."
                ),
                rid,
                0.0,
            )
        method = scope["method"]
        if method not in SCORE_METHODS:
            return await self._fail(send, 405, [*out, ALLOW_SCORE], NOT_ALLOWED), rid, 0.0
        if method == "OPTIONS" and script.mode != "rawhttp":
            await self._send(
                send, 200, [*out, (b"allow", b"GET, POST, OPTIONS"), *_run_headers(0.0, False)], b""
            )
            return 200, rid, 0.0
        if clen is not None:
            try:
                n = int(clen)
            except ValueError:
                return (
                    await self._fail(send, 400, [*out, CLOSE], "Invalid Content-Length header."),
                    rid,
                    0.0,
                )
            if n > self.max_body:  # refused before a byte of the body is read
                return await self._too_large(send, out), rid, 0.0
        try:
            body = await _read_body(receive, self.max_body)
        except BodyTooLarge:  # chunked, or a Content-Length that lied
            return await self._too_large(send, out), rid, 0.0
        try:
            qs = scope.get("query_string", b"")
            kwargs: dict[str, Any]
            # run() is called with keyword arguments, as the original does
            if script.mode == "raw":
                kwargs = {script.params[0].name: inputs.raw_input(method, body, qs)}
            elif script.mode == "rawhttp":
                kwargs = {script.params[0].name: inputs.rawhttp_request(scope, body)}
            else:
                kwargs = inputs.schema_kwargs(script, method, ctype, body, qs)
            if script.wants_headers:
                kwargs["request_headers"] = inputs.headers_dict(scope["headers"])
        except inputs.InputError as exc:
            return await self._fail(send, exc.status, out, exc.message), rid, 0.0
        try:
            if state.batcher is not None:
                result, exec_s = await state.batcher.submit(kwargs[script.params[0].name], rid)
            else:
                runner = state.runner
                assert runner is not None
                if runner.is_async:
                    await self.admission.acquire()
                    result, exec_s = await runner.invoke(rid, (), kwargs)
                else:
                    result, exec_s = await runner.invoke_queued(rid, kwargs, self.admission)
        except Overloaded as exc:
            return await self._fail(send, 503, out, str(exc)), rid, 0.0
        except ScoringTimeout as exc:
            self.metrics.rejected["timeout"] += 1
            return await self._fail(send, 504, out, str(exc)), rid, self.s.scoring_timeout_ms / 1000
        except BatchError as exc:
            log.error("%s,%s", rid, exc)
            return await self._fail(send, 500, out, str(exc)), rid, 0.0
        except Exception as exc:
            log.exception("%s,run() raised an exception", rid)
            if self.telemetry is not None:
                self.telemetry.exception(rid, exc)
            return (
                await self._fail(
                    send,
                    500,
                    [*out, *_run_headers(0.0, True)],
                    GENERIC_RUN_ERROR,
                    run_headers=False,
                ),
                rid,
                0.0,
            )
        stream = None
        try:
            if is_response_object(result):
                status, headers, payload, failed = unpack_response(result)
                stream = response_stream(result)
                out += headers
            else:
                status, payload, failed = 200, dumps(result), False
                out.append(JSON)
        except Exception:
            log.exception("%s,the value run() returned could not be sent as JSON", rid)
            return await self._fail(send, 500, out, GENERIC_RUN_ERROR), rid, exec_s
        if stream is not None:  # a generator message: chunks go out as run() produces them
            out += _run_headers(exec_s, failed)
            if self.state.draining:
                out.append(CLOSE)
            await send_stream(send, status, out, stream, rid)
            return status, rid, exec_s
        out += _run_headers(exec_s, failed)
        if self.telemetry is not None and self.telemetry.log_body:
            self.telemetry.body(rid, payload)
        await self._send(send, status, out, payload)
        return status, rid, exec_s


def _header(scope: Scope, name: bytes) -> bytes | None:
    for k, v in scope["headers"]:
        if k == name:
            return v  # type: ignore[no-any-return]
    return None


def _run_headers(exec_s: float, failed: bool) -> list[tuple[bytes, bytes]]:
    return [
        (b"x-ms-run-fn-exec-ms", f"{exec_s * 1000:.3f}".encode()),
        (b"x-ms-run-function-failed", b"True" if failed else b"False"),
    ]


async def _read_body(receive: Receive, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone()
        chunk = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > limit:
                raise BodyTooLarge()
            chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)
