"""Templates: one Jinja2 environment with autoescaping, and the helpers every page uses."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

__all__ = ["model_refs", "page", "urlencode"]

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse

from modelport import __version__
from modelport.server.studio.auth import Session

HERE = Path(__file__).parent
STATE_CLASS = {
    "Healthy": "ok",
    "Succeeded": "ok",
    "Transitioning": "busy",
    "Running": "busy",
    "Deleting": "busy",
    "Unhealthy": "warn",
    "Unschedulable": "warn",
    "Failed": "bad",
}


def _when(value: str | None) -> str:
    """ISO time → ``2026-12-05 08:31 UTC`` (the API's times are UTC)."""
    if not value:
        return ""
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).strftime("%Y-%m-%d %H:%M UTC")
    except ValueError:
        return value


def _size(n: int | None) -> str:
    size = float(n or 0)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


def model_refs(models: list[Any] | None) -> list[dict[str, Any]]:
    """A service's models, ``"name:version"`` strings or Model JSON, as ``{name, version, id}``."""
    out = []
    for m in models or []:
        if isinstance(m, dict):
            name, version = str(m.get("name")), str(m.get("version"))
        else:
            name, _, version = str(m).rpartition(":")
        out.append({"name": name, "version": version, "id": f"{name}:{version}"})
    return out


def _labels(d: dict[str, str] | None) -> str:
    return ",".join(f"{k}={v}" for k, v in (d or {}).items())


env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(HERE / "templates"),
    autoescape=jinja2.select_autoescape(("html",)),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
env.filters["when"] = _when
env.filters["size"] = _size
env.filters["labels"] = _labels
env.filters["model_refs"] = model_refs
env.filters["state_class"] = lambda s: STATE_CLASS.get(str(s), "neutral")
env.globals["urlencode"] = urlencode
env.globals["version"] = __version__


def page(
    request: Request,
    template: str,
    session: Session | None,
    status_code: int = 200,
    **values: Any,
) -> HTMLResponse:
    """Render a template with what the layout needs (session's CSRF token, workspace, path)."""
    html = env.get_template(template).render(
        request=request,
        path=request.url.path,
        csrf=session.csrf if session else "",
        signed_in=session is not None,
        ws=values.pop("ws", request.path_params.get("ws", "default")),
        **values,
    )
    return HTMLResponse(
        html,
        status_code=status_code,
        headers={"Cache-Control": "no-store", "Content-Security-Policy": CSP},
    )


# Inline scripts and styles are not needed: everything is in /studio/static (and SVG charts are
# markup). htmx's indicator style is turned off in the layout (htmx.config.includeIndicatorStyles).
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)
