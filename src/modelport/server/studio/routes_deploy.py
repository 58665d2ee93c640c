"""Deploy from a model page: one click for a no-code model, or the form (entry script,
environment, settings or uploaded config files); the service page then follows it live."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from modelport.errors import UserError
from modelport.server.studio import auth
from modelport.server.studio.api import Api
from modelport.server.studio.auth import SignedIn
from modelport.server.studio.routing import StudioRoute

router = APIRouter(route_class=StudioRoute)


def default_service_name(model_name: str, version: int | str) -> str:
    """A valid service name from the model's: lowercase, dashes, 3-32 characters."""
    base = re.sub(r"[^a-z0-9-]+", "-", model_name.lower()).strip("-") or "model"
    if not base[0].isalpha():
        base = "m-" + base
    return f"{base[:28]}-v{version}"[:32].rstrip("-")


def json_field(form: dict[str, str], field: str, what: str) -> dict[str, Any] | None:
    text = form.get(field, "").strip()
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise UserError(f"{what}: not valid JSON ({exc})") from exc
    if not isinstance(value, dict):
        raise UserError(f"{what}: must be a JSON object")
    return value


def _number(form: dict[str, str], field: str) -> float | None:
    text = form.get(field, "").strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError as exc:
        raise UserError(f"{field}: {text!r} is not a number") from exc


def deployment_config(form: dict[str, str]) -> dict[str, Any]:
    """The uploaded deploymentconfig.json if any, else one built from the form's few fields."""
    uploaded = json_field(form, "deployment_config", "deploymentconfig.json")
    if uploaded is not None:
        return uploaded
    config: dict[str, Any] = {
        "computeType": form.get("compute_type") or "local",
        "authEnabled": form.get("auth_enabled") == "on",
    }
    resources = {
        k: v
        for k, v in (("cpu", _number(form, "cpu")), ("memoryInGB", _number(form, "memory_gb")))
        if v is not None
    }
    if resources:
        config["containerResourceRequirements"] = resources
    replicas = _number(form, "replicas")
    if replicas is not None:
        config["numReplicas"] = int(replicas)
    return config


async def _custom_parts(api: Api, ws: str, form: dict[str, str]) -> dict[str, Any]:
    """Entry script (uploaded as a blob), inference config and environment of the form."""
    script = form.get("entry_script", "")
    if not script.strip():
        raise UserError("entry script: paste or upload the scoring script (init() and run())")
    ic = json_field(form, "inference_config", "inferenceconfig.json") or {}
    entry = str(ic.get("entryScript") or form.get("entry_name") or "score.py").strip()
    ic["entryScript"] = entry
    ic.pop("sourceDirectory", None)  # the studio sends the one script, not a folder
    data = script.replace("\r\n", "\n").encode()
    sha = hashlib.sha256(data).hexdigest()
    await api.put_blob(ws, sha, data)
    parts: dict[str, Any] = {
        "inferenceConfig": ic,
        "sourceSnapshot": {"files": [{"path": entry, "sha256": sha, "size": len(data)}]},
    }
    env = form.get("environment", "")
    if env and "environment" not in ic:
        name, _, version = env.rpartition(":")
        parts["environment"] = {"name": name, "version": version or None}
    return parts


@router.post("/w/{ws}/models/{name}/{version}/deploy")
async def deploy(request: Request, ws: str, name: str, version: str, session: SignedIn) -> Response:
    form = await auth.form_data(request)
    async with Api(request) as api:
        model = await api.get(f"/workspaces/{ws}/models/{name}/versions/{version}")
        service = form.get("service_name", "").strip() or default_service_name(
            model["name"], model["version"]
        )
        body: dict[str, Any] = {
            "name": service,
            "models": [model["id"]],
            "deploymentConfig": deployment_config(form),
        }
        if form.get("mode") == "custom":
            body.update(await _custom_parts(api, ws, form))
        if form.get("overwrite") == "on":
            body["overwrite"] = True
        answer = await api.post(f"/workspaces/{ws}/services", body)
    op = answer["operation"]["id"]
    return RedirectResponse(f"/w/{ws}/services/{service}?op={op}", status_code=303)
