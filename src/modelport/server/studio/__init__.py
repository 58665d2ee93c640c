"""The web studio: server-rendered pages at ``/`` (the API stays under ``/api/v1``).

``install(app)`` mounts the static assets and the page routers. Pages reach the workspace only
through the API, in-process (studio/api.py); see docs/studio.md.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from modelport.server.studio import (
    routes_auth,
    routes_deploy,
    routes_models,
    routes_more,
    routes_services,
)
from modelport.server.studio.render import HERE

STATIC_PATH = "/studio/static"
PAGES = (routes_auth, routes_models, routes_deploy, routes_services, routes_more)


def install(app: FastAPI) -> None:
    app.mount(STATIC_PATH, StaticFiles(directory=HERE / "static"), name="studio-static")
    for module in PAGES:
        app.include_router(module.router, include_in_schema=False)
