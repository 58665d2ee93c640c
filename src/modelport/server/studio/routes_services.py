"""Services: the list, a service's page and its live parts (status while a deployment runs,
log tail, keys, test console, charts) and its actions (update, reload, delete)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from modelport.errors import UserError
from modelport.server.studio import auth, charts, console, render
from modelport.server.studio.api import Api
from modelport.server.studio.auth import SignedIn
from modelport.server.studio.routes_deploy import json_field
from modelport.server.studio.routing import StudioRoute

router = APIRouter(route_class=StudioRoute)
TERMINAL_OPS = ("Succeeded", "Failed")
LOG_LINES = 200
SVC = "/w/{ws}/services/{name}"


def _api_path(ws: str, name: str = "") -> str:
    return f"/workspaces/{ws}/services" + (f"/{name}" if name else "")


@router.get("/w/{ws}/services")
async def services_page(
    request: Request, ws: str, session: SignedIn, deleted: str = ""
) -> Response:
    async with Api(request) as api:
        found = await api.get(_api_path(ws))
    return render.page(request, "services.html", session, services=found["value"], deleted=deleted)


async def _operation(api: Api, ws: str, name: str, op_id: str) -> dict[str, Any] | None:
    if op_id:
        return dict(await api.get(f"/workspaces/{ws}/operations/{op_id}"))
    ops = (await api.get(f"{_api_path(ws, name)}/operations"))["value"]
    return dict(ops[0]) if ops else None


async def _status(api: Api, ws: str, name: str, op_id: str) -> dict[str, Any]:
    """What the status box shows: the service, its operation, whether it is still running
    (the box then polls itself) and the log tail while it runs or after it failed."""
    service = await api.get(_api_path(ws, name))
    op = await _operation(api, ws, name, op_id)
    following = op is not None and op["state"] not in TERMINAL_OPS
    tail = ""
    failed_without_details = (
        op is not None and op["state"] == "Failed" and not (op.get("error") or {}).get("details")
    )
    if following or failed_without_details:
        tail = (await api.get(f"{_api_path(ws, name)}/logs", numLines=30))["content"]
    return {"service": service, "op": op, "following": following, "tail": tail}


@router.get(SVC)
async def service_page(
    request: Request, ws: str, name: str, session: SignedIn, op: str = ""
) -> Response:
    async with Api(request) as api:
        status = await _status(api, ws, name, op)
        operations = (await api.get(f"{_api_path(ws, name)}/operations"))["value"]
    return render.page(
        request, "service.html", session, operations=operations, **status,
        config_json=json.dumps(status["service"].get("deploymentConfig") or {}, indent=2),
        default_body=console.DEFAULT_BODY,
    )  # fmt: skip


@router.get(SVC + "/status")
async def status_part(
    request: Request, ws: str, name: str, session: SignedIn, op: str = ""
) -> Response:
    """The live status box: polled while an operation runs, static once it has finished."""
    async with Api(request) as api:
        status = await _status(api, ws, name, op)
    return render.page(request, "service_status.html", session, **status)


@router.get(SVC + "/logs")
async def logs_part(
    request: Request, ws: str, name: str, session: SignedIn, follow: str = ""
) -> Response:
    async with Api(request) as api:
        content = (await api.get(f"{_api_path(ws, name)}/logs", numLines=LOG_LINES))["content"]
    return render.page(request, "service_logs.html", session, content=content, follow=bool(follow))


@router.post(SVC + "/keys")
async def keys_part(request: Request, ws: str, name: str, session: SignedIn) -> Response:
    """Reveal (action=reveal) or regenerate (action=Primary|Secondary) the service's keys."""
    form = await auth.form_data(request)
    action = form.get("action", "reveal")
    async with Api(request) as api:
        if action in ("Primary", "Secondary"):
            await api.post(f"{_api_path(ws, name)}/regenerateKeys", {"keyType": action})
            return render.page(
                request, "service_keys.html", session, keys=None,
                message=f"{action} key regenerated: the old one is refused from now on.",
            )  # fmt: skip
        if action != "reveal":
            raise UserError(f"unknown keys action {action!r}")
        keys = await api.post(f"{_api_path(ws, name)}/listKeys")
    return render.page(request, "service_keys.html", session, keys=keys, message=None)


@router.get(SVC + "/keys/hide")
async def keys_hidden(request: Request, ws: str, name: str, session: SignedIn) -> Response:
    return render.page(request, "service_keys.html", session, keys=None, message=None)


@router.post(SVC + "/action")
async def service_action(request: Request, ws: str, name: str, session: SignedIn) -> Response:
    """Reload, update (a deploymentconfig JSON) or delete: each is one API call."""
    form = await auth.form_data(request)
    action = form.get("action")
    async with Api(request) as api:
        if action == "delete":
            if form.get("confirm_name") != name:
                raise UserError(f"to delete, type the service's name ({name}) in the box")
            await api.delete(_api_path(ws, name))
            return RedirectResponse(f"/w/{ws}/services?deleted={name}", status_code=303)
        if action == "reload":
            answer = await api.post(f"{_api_path(ws, name)}/reload")
        elif action == "update":
            config = json_field(form, "deployment_config", "deploymentconfig") or {}
            if "computeType" not in config:  # the API wants it; it cannot change on update
                service = await api.get(_api_path(ws, name))
                config["computeType"] = service["computeType"]
            answer = await api.patch(_api_path(ws, name), {"deploymentConfig": config})
        else:
            raise UserError(f"unknown action {action!r}")
    op = answer["operation"]["id"]
    return RedirectResponse(f"/w/{ws}/services/{name}?op={op}", status_code=303)


async def _auth_header(api: Api, ws: str, service: dict[str, Any]) -> dict[str, str]:
    """What the console adds when the user gave no Authorization header: the service's key."""
    if service.get("authEnabled"):
        keys = await api.post(f"{_api_path(ws, service['name'])}/listKeys")
        return {"Authorization": f"Bearer {keys['primaryKey']}"}
    if service.get("tokenAuthEnabled"):
        token = await api.post(f"{_api_path(ws, service['name'])}/token")
        return {"Authorization": f"Bearer {token['accessToken']}"}
    return {}


@router.post(SVC + "/console")
async def console_send(request: Request, ws: str, name: str, session: SignedIn) -> Response:
    form = await auth.form_data(request)
    headers = console.parse_headers(form.get("headers", ""))
    async with Api(request) as api:
        service = await api.get(_api_path(ws, name))
        if not any(k.lower() == "authorization" for k in headers):
            headers.update(await _auth_header(api, ws, service))
    answer = await console.send(service, form.get("method", "POST"), form.get("body", ""), headers)
    return render.page(request, "service_answer.html", session, answer=answer)


@router.get(SVC + "/example")
async def console_example(request: Request, ws: str, name: str, session: SignedIn) -> Response:
    async with Api(request) as api:
        service = await api.get(_api_path(ws, name))
    example = await console.swagger_example(service)
    return render.page(
        request, "service_body.html", session,
        body=example or console.DEFAULT_BODY, from_swagger=example is not None,
    )  # fmt: skip


def _history(request: Request) -> charts.History:
    return auth.per_app(request, "studio_charts", charts.History)


@router.get(SVC + "/charts")
async def charts_part(request: Request, ws: str, name: str, session: SignedIn) -> Response:
    async with Api(request) as api:
        service = await api.get(_api_path(ws, name))
    uri = service.get("scoringUri")
    message = None
    if uri and service.get("state") == "Healthy":
        try:
            answer = await console.send(service, "GET", "", {}, timeout=3.0, path="/metrics")
            _history(request).add(f"{ws}/{name}", charts.parse(answer.body, charts.now()))
        except UserError as exc:
            message = str(exc)
    else:
        message = "Charts start when the service is Healthy."
    points = _history(request).points(f"{ws}/{name}")
    return render.page(
        request, "service_charts.html", session, charts=charts.charts(points), message=message
    )
