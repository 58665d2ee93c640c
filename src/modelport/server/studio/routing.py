"""The studio's route class: errors become pages (or inline messages for htmx), not JSON."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from markupsafe import escape

from modelport.errors import ModelportError
from modelport.server.studio import render
from modelport.server.studio.auth import CsrfRefused, SignInRequired, current_session, signin_url

log = logging.getLogger("modelport.server.studio")


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def flash(message: str, kind: str = "bad") -> str:
    return f'<div class="flash {kind}" role="alert">{escape(message)}</div>'


def _error(request: Request, status: int, message: str) -> Response:
    if is_htmx(request):
        # htmx swaps only 2xx answers: send the message to the page's flash area instead.
        return HTMLResponse(
            flash(message), headers={"HX-Retarget": "#flash", "HX-Reswap": "innerHTML"}
        )
    return render.page(
        request, "error.html", current_session(request), status_code=status, message=message
    )


class StudioRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except SignInRequired as exc:
                target = signin_url(exc.next_path)
                if is_htmx(request):
                    return Response(status_code=204, headers={"HX-Redirect": target})
                return RedirectResponse(target, status_code=303)
            except CsrfRefused as exc:
                return _error(request, 403, str(exc))
            except ModelportError as exc:
                if exc.status_code >= 500:
                    log.error("%s %s: %s", request.method, request.url.path, exc.message)
                return _error(request, exc.status_code, exc.message)
            except RequestValidationError as exc:
                return _error(request, 400, f"invalid request: {exc.errors()[:1]}")
            except Exception:
                log.exception("unexpected error on %s %s", request.method, request.url.path)
                return _error(request, 500, "internal server error; the server log has the details")

        return handle
