"""A full artifact store answers 507 with a readable message instead of an anonymous 500."""

from __future__ import annotations

import errno
import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

log = logging.getLogger("modelport.server")

_FULL = (errno.ENOSPC, errno.EDQUOT)


async def _os_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, OSError)
    if exc.errno in _FULL:
        log.error("%s %s: storage full: %s", request.method, request.url.path, exc.strerror)
        return JSONResponse(
            {
                "message": "the server's storage is full (no space left on device); nothing was "
                "stored: free space or move the artifact store, then retry"
            },
            status_code=507,
        )
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return JSONResponse(
        {"message": "internal server error; the server log has the details"}, status_code=500
    )


def install_storage_handler(app: FastAPI) -> None:
    app.add_exception_handler(OSError, _os_error)
