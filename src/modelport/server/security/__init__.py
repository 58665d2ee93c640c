"""Request-level protections of the workspace server: the token checked before a body is read,
body size limits, failed-auth rate limiting, large JSON bodies parsed off the event loop and a
clean answer when the artifact store's disk is full. ``install(app)`` registers them all."""

from __future__ import annotations

from fastapi import FastAPI

from modelport.server.security.authlimit import FailedAuthLimiter
from modelport.server.security.bodylimit import BodyLimit
from modelport.server.security.config import SecurityLimits
from modelport.server.security.jsonbody import parse_large_json_in_threads
from modelport.server.security.storage import install_storage_handler
from modelport.server.security.tokengate import TokenGate, open_routes

__all__ = ["SecurityLimits", "install"]


def install(app: FastAPI, limits: SecurityLimits | None = None) -> None:
    """Register the middleware: the rate limiter outermost (blocked clients cost nothing), then
    the token gate (no body is read for a client without the token), then the body limits."""
    limits = limits or SecurityLimits.from_env()
    from modelport.server.api import ROUTERS  # here: the store imports envsecrets from this package

    install_storage_handler(app)
    open_routes(app, ROUTERS)
    parse_large_json_in_threads()
    app.add_middleware(
        BodyLimit, json_limit=limits.max_json_bytes, upload_limit=limits.max_upload_bytes
    )
    app.add_middleware(TokenGate)
    app.add_middleware(
        FailedAuthLimiter,
        max_failures=limits.auth_failures,
        window_seconds=limits.auth_window_seconds,
    )
