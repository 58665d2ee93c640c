"""``GET /health``: answers without a token, 503 while the database does not answer."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from modelport import __version__
from modelport.server.api.deps import Ctx

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str
    version: str


@router.get("/health", response_model=Health)
def health(ctx: Ctx) -> Health | JSONResponse:
    try:
        with ctx.store.read() as session:
            session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        return JSONResponse({"message": "metadata database does not answer"}, status_code=503)
    return Health(status="ok", version=__version__)
