"""Request-level protections of the workspace server: body size limits, failed-auth rate limiting
and a clean answer when the artifact store's disk is full. ``install(app)`` registers them all."""

from __future__ import annotations

from fastapi import FastAPI

from modelport.server.security.authlimit import FailedAuthLimiter
from modelport.server.security.bodylimit import BodyLimit
from modelport.server.security.config import SecurityLimits
from modelport.server.security.storage import install_storage_handler

__all__ = ["SecurityLimits", "install"]


def install(app: FastAPI, limits: SecurityLimits | None = None) -> None:
    """Register the middleware (the rate limiter outermost, so blocked clients cost nothing)."""
    limits = limits or SecurityLimits.from_env()
    install_storage_handler(app)
    app.add_middleware(
        BodyLimit, json_limit=limits.max_json_bytes, upload_limit=limits.max_upload_bytes
    )
    app.add_middleware(
        FailedAuthLimiter,
        max_failures=limits.auth_failures,
        window_seconds=limits.auth_window_seconds,
    )
