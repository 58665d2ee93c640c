"""Model packages (v1 ``Model.package``): create a build context, poll it, download it.

The workspace server assembles the context because it holds the models, the source snapshots and
the environment locks; clients download the tar.gz and build the image where they run.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse

from modelport.packaging import jobs
from modelport.server.api.deps import Ctx, WorkspaceName
from modelport.server.api.services import _check_blobs_fn

router = APIRouter(tags=["packages"])
PackageId = Annotated[str, Path(pattern=r"^[0-9]{14}-[0-9a-f]{8}$", description="Package id.")]


@router.post("/workspaces/{ws}/packages", status_code=202)
def create_package(
    ws: WorkspaceName, ctx: Ctx, body: Annotated[dict[str, Any], Body(...)]
) -> JSONResponse:
    """Start creating a package from ``models`` + ``inferenceConfig`` (+ ``sourceSnapshot``,
    ``environment``) or from a deployed ``service``; poll it, then download ``location``."""
    record = jobs.start(ctx.deploy, ws, body, _check_blobs_fn(ctx))
    return JSONResponse(record, status_code=202, headers={"Location": record["location"]})


@router.get("/workspaces/{ws}/packages/{pid}")
def get_package(ws: WorkspaceName, pid: PackageId, ctx: Ctx) -> dict[str, Any]:
    return jobs.get(ctx.deploy, ws, pid)


@router.get("/workspaces/{ws}/packages/{pid}/log", response_class=PlainTextResponse)
def get_package_log(ws: WorkspaceName, pid: PackageId, ctx: Ctx) -> str:
    return jobs.log_text(ctx.deploy, ws, pid)


@router.get("/workspaces/{ws}/packages/{pid}/context", response_class=FileResponse)
def get_package_context(ws: WorkspaceName, pid: PackageId, ctx: Ctx) -> FileResponse:
    """The build context as a .tar.gz (Dockerfile at its root)."""
    path = jobs.tarball(ctx.deploy, ws, pid)
    return FileResponse(path, media_type="application/gzip", filename=f"package-{pid}.tar.gz")


@router.delete("/workspaces/{ws}/packages/{pid}", status_code=204)
def delete_package(ws: WorkspaceName, pid: PackageId, ctx: Ctx) -> None:
    jobs.delete(ctx.deploy, ws, pid)
