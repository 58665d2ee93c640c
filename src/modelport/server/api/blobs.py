"""Content-addressed blobs: HEAD to probe, PUT to upload (streamed, verified), GET to download."""

from __future__ import annotations

from typing import Annotated

from anyio import to_thread
from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel
from starlette.requests import ClientDisconnect

from modelport.errors import NotFound, UserError
from modelport.server.api.deps import Ctx, WorkspaceName
from modelport.server.store import workspaces

router = APIRouter(tags=["blobs"])

Sha256Path = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$", description="sha256, lowercase hex")]


class BlobOut(BaseModel):
    sha256: str
    size: int


def _check_workspace(ctx: Ctx, ws: str) -> None:
    with ctx.store.read() as session:
        workspaces.get(session, ws)


@router.head("/workspaces/{ws}/blobs/{sha256}", response_class=Response)
def head_blob(ws: WorkspaceName, sha256: Sha256Path, ctx: Ctx) -> Response:
    _check_workspace(ctx, ws)
    size = ctx.artifacts.size(sha256)
    if size is None:
        raise NotFound(f"blob {sha256} not stored")
    return Response(status_code=200, headers={"Content-Length": str(size)})


@router.put(
    "/workspaces/{ws}/blobs/{sha256}",
    status_code=201,
    response_model=BlobOut,
    responses={200: {"model": BlobOut, "description": "Already stored"}},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            },
        }
    },
)
async def put_blob(ws: WorkspaceName, sha256: Sha256Path, request: Request, ctx: Ctx) -> Response:
    await to_thread.run_sync(_check_workspace, ctx, ws)
    try:
        size, created = await ctx.artifacts.put(sha256, request.stream())
    except ClientDisconnect as exc:  # nothing was stored; nobody is left to read the answer
        raise UserError(f"upload of blob {sha256} interrupted; nothing stored") from exc
    return JSONResponse({"sha256": sha256, "size": size}, status_code=201 if created else 200)


@router.get(
    "/workspaces/{ws}/blobs/{sha256}",
    response_class=FileResponse,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
def get_blob(ws: WorkspaceName, sha256: Sha256Path, ctx: Ctx) -> FileResponse:
    _check_workspace(ctx, ws)
    path = ctx.artifacts.path(sha256)
    if not path.is_file():
        raise NotFound(f"blob {sha256} not stored")
    return FileResponse(path, media_type="application/octet-stream")
