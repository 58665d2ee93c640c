"""Every error answers ``{"message": ...}``: modelport errors with their status, validation
errors as 400 naming the field, and anything unexpected as a logged 500."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from modelport.errors import AuthenticationError, ModelportError

log = logging.getLogger("modelport.server")


def _message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors()[:3]:
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "header")]
        field = ".".join(loc) or str((err.get("loc") or ("body",))[0])
        parts.append(f"{field}: {err.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


async def _modelport_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ModelportError)
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, AuthenticationError) else None
    if exc.status_code >= 500:
        log.error("%s %s: %s", request.method, request.url.path, exc.message)
    return JSONResponse({"message": exc.message}, status_code=exc.status_code, headers=headers)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return JSONResponse({"message": _message(exc)}, status_code=400)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    return JSONResponse(
        {"message": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers
    )


async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    log.error("database error on %s %s: %s", request.method, request.url.path, exc)
    return JSONResponse(
        {"message": "the metadata database is unavailable; retry shortly"}, status_code=503
    )


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return JSONResponse(
        {"message": "internal server error; the server log has the details"}, status_code=500
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(ModelportError, _modelport_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(OperationalError, _database_unavailable)
    app.add_exception_handler(Exception, _unexpected)
