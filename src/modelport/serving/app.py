"""The ASGI application: routes, headers and status codes of the original server, on a plain-ASGI
hot path. ``/score`` is here; health, metrics, swagger, CORS and the answering helpers are
routes.py (a base class: its methods are looked up on the type, as before, not wrapped).
"""

from __future__ import annotations

from logging import INFO
from time import perf_counter
from typing import Any

from modelport.serving import inputs, request_ids
from modelport.serving.admission import Overloaded
from modelport.serving.batching import BatchError
from modelport.serving.cycle import CLOSE, Cycle
from modelport.serving.logs import access, log_access
from modelport.serving.responses import (
    GENERIC_RUN_ERROR,
    dumps,
    error_body,
    is_response_object,
    response_stream,
    unpack_response,
)
from modelport.serving.routes import (
    ALLOW_SCORE,
    EXEC_MS,
    JSON,
    NOT_ALLOWED,
    NOT_FOUND,
    RUN_FAILED,
    RUN_OK,
    SCORE_METHODS,
    Receive,
    Routes,
    Scope,
    Send,
    State,
    exec_headers,
    log,
)
from modelport.serving.runner import ScoringTimeout
from modelport.serving.streaming import send_stream

__all__ = ["App", "State"]


PLAIN = frozenset((list, dict, str, int, float, bool, type(None)))  # run() results that are JSON


class BodyTooLarge(Exception):
    pass


class ClientGone(Exception):
    pass


class App(Routes):
    """``role="main"`` serves every route; ``role="health"`` only ``/`` and ``/metrics``."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        if scope["path"] != "/score" or self.role != "main":
            await self._route(scope, send)
            return
        # /score, counted here rather than in a coroutine of its own (a frame fewer per request)
        t0 = perf_counter()
        m = self.metrics
        m.in_flight += 1
        status, rid, exec_s = 500, "", 0.0
        try:
            status, rid, exec_s = await self._score(scope, receive, send)
        except ClientGone:
            status = 499
        finally:
            m.in_flight -= 1
            elapsed = perf_counter() - t0
            m.request_done("score", status, elapsed)
            if self.telemetry is not None:  # a list append; reported off the request path
                self.telemetry.request(scope, status, rid, elapsed)
            if access.isEnabledFor(INFO):  # logs.access_enabled(), without its frame
                log_access(method=scope["method"], path=scope["path"], status=status, request_id=rid,
                           duration_ms=round(elapsed * 1000, 3), run_ms=round(exec_s * 1000, 3),
                           client=(scope.get("client") or ("",))[0])  # fmt: skip

    async def _route(self, scope: Scope, send: Send) -> None:
        """Every route but /score."""
        path = scope["path"]
        if path == "/":
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

    # ------------------------------------------------------------------ /score
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
        out = list(self.base_headers)  # self._common(scope), without its frame
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
                send, 200, [*out, (b"allow", b"GET, POST, OPTIONS"), *exec_headers(0.0, False)], b""
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
        cycle = getattr(receive, "__self__", None)  # our protocol: a body already whole is taken
        body = cycle.take_body() if type(cycle) is Cycle else None  # without a coroutine and dict
        if body is None:
            try:
                body = await _read_body(receive, self.max_body)
            except BodyTooLarge:  # chunked, or a Content-Length that lied
                return await self._too_large(send, out), rid, 0.0
        elif len(body) > self.max_body:
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
                elif runner.inline_ready():  # a plain call: no coroutine to create and await
                    result, exec_s = runner.invoke_inline(rid, kwargs)
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
                    [*out, *exec_headers(0.0, True)],
                    GENERIC_RUN_ERROR,
                    run_headers=False,
                ),
                rid,
                0.0,
            )
        stream = None
        try:
            if type(result) in PLAIN:  # JSON as is: no response-object probing
                status, payload, failed = 200, dumps(result), False
                out.append(JSON)
            elif is_response_object(result):
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
            out += exec_headers(exec_s, failed)
            if self.state.draining:
                out.append(CLOSE)
            await send_stream(send, status, out, stream, rid)
            return status, rid, exec_s
        out += ((EXEC_MS, b"%.3f" % (exec_s * 1000)), RUN_FAILED if failed else RUN_OK)
        if self.telemetry is not None and self.telemetry.log_body:
            self.telemetry.body(rid, payload)
        cycle = getattr(send, "__self__", None)
        if type(cycle) is Cycle:  # this server's protocol: _send without its coroutine
            self._answer(cycle, status, out, payload)
        else:
            await self._send(send, status, out, payload)
        return status, rid, exec_s


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
