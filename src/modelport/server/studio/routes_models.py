"""Models: search and filter, a model's page (versions, labels, lineage, files, services)."""

from __future__ import annotations

import posixpath
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from modelport.errors import UserError
from modelport.server.deploy import nocode
from modelport.server.studio import auth, render
from modelport.server.studio.api import Api
from modelport.server.studio.auth import SignedIn
from modelport.server.studio.routing import StudioRoute

router = APIRouter(route_class=StudioRoute)
PAGE_SIZE = 25


def _filter_text(text: str) -> str:
    """``team=vision  stage=prod`` or ``team=vision,stage=prod`` → the API's comma list."""
    return ",".join(p for p in text.replace(",", " ").split() if p)


@router.get("/w/{ws}/models")
async def models_page(
    request: Request,
    ws: str,
    session: SignedIn,
    name: str = "",
    tags: str = "",
    properties: str = "",
    latest: str = "",
    after: str = "",
) -> Response:
    query = {
        "name": name.strip(),
        "tags": _filter_text(tags),
        "properties": _filter_text(properties),
        "latest": "true" if latest else "",
        "limit": PAGE_SIZE,
        "after": after,
    }
    async with Api(request) as api:
        found = await api.get(f"/workspaces/{ws}/models", **query)
    shown = {"name": name, "tags": tags, "properties": properties, "latest": latest}
    next_url = None
    if found["next"]:
        next_url = f"/w/{ws}/models?" + render.urlencode({**shown, "after": found["next"]})
    template = (
        "models_rows.html" if request.headers.get("hx-target") == "model-rows" else "models.html"
    )
    return render.page(
        request, template, session, models=found["value"], filters=shown, next_url=next_url
    )


def _tree(files: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Files in path order with their depth, for an indented tree."""
    rows = []
    seen_dirs: set[str] = set()
    for f in sorted(files, key=lambda f: str(f["path"])):
        parts = str(f["path"]).split("/")
        for depth in range(1, len(parts)):
            folder = "/".join(parts[:depth])
            if folder not in seen_dirs:
                seen_dirs.add(folder)
                rows.append({"name": parts[depth - 1] + "/", "depth": depth - 1, "file": None})
        rows.append({"name": parts[-1], "depth": len(parts) - 1, "file": f})
    return rows


@router.get("/w/{ws}/models/{name}/{version}")
async def model_page(
    request: Request, ws: str, name: str, version: str, session: SignedIn
) -> Response:
    async with Api(request) as api:
        model = await api.get(f"/workspaces/{ws}/models/{name}/versions/{version}")
        versions = await api.get(f"/workspaces/{ws}/models", name=name, limit=100)
        services = await api.get(f"/workspaces/{ws}/services", modelName=name)
        envs = await api.get(f"/workspaces/{ws}/environments", limit=200)
    using = [
        s
        for s in services["value"]
        if any(m["id"] == model["id"] for m in render.model_refs(s.get("models")))
    ]
    return render.page(
        request, "model.html", session, model=model, versions=versions["value"],
        services=using, other_services=[s for s in services["value"] if s not in using],
        tree=_tree(model["files"]), environments=envs["value"],
        no_code=nocode.canonical_framework(model.get("framework")) in (nocode.SCIKITLEARN, nocode.ONNX),
    )  # fmt: skip


def _pair(text: str, what: str) -> tuple[str, str]:
    key, eq, value = text.strip().partition("=")
    if not key.strip() or not eq:
        raise UserError(f"{what}: write key=value")
    return key.strip(), value.strip()


@router.post("/w/{ws}/models/{name}/{version}/labels")
async def edit_labels(
    request: Request, ws: str, name: str, version: str, session: SignedIn
) -> Response:
    """Add a tag, remove a tag or add a property: the API's PATCH does the rest."""
    form = await auth.form_data(request)
    body: dict[str, Any] = {}
    if form.get("add_tag"):
        key, value = _pair(form["add_tag"], "tag")
        body["addTags"] = {key: value}
    if form.get("remove_tag"):
        body["removeTags"] = [form["remove_tag"]]
    if form.get("add_property"):
        key, value = _pair(form["add_property"], "property")
        body["addProperties"] = {key: value}
    if not body:
        raise UserError("nothing to change: give a tag or a property as key=value")
    async with Api(request) as api:
        await api.patch(f"/workspaces/{ws}/models/{name}/versions/{version}", body)
    return RedirectResponse(f"/w/{ws}/models/{name}/{version}#labels", status_code=303)


@router.get("/w/{ws}/files/{sha256}/{filename}")
async def download(
    request: Request, ws: str, sha256: str, filename: str, session: SignedIn
) -> Response:
    async with Api(request) as api:
        r = await api.call("GET", f"/workspaces/{ws}/blobs/{sha256}")
    safe = quote(posixpath.basename(filename))
    return Response(
        r.content,
        media_type="application/octet-stream",
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{safe}"},
    )
