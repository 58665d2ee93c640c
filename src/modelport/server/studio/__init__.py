"""The web studio: server-rendered pages at ``/`` (the API stays under ``/api/v1``).

``install(app)`` mounts the static assets and the page routers. Pages reach the workspace only
through the API, in-process (studio/api.py); see docs/studio.md. The page modules are imported
in ``install`` only: the CLI imports ``studio.signing`` for sign-in links without FastAPI.
"""

from __future__ import annotations

from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI

STATIC_PATH = "/studio/static"


def pages() -> tuple[ModuleType, ...]:
    """The modules whose ``router`` holds the studio's pages."""
    from modelport.server.studio import (
        routes_auth,
        routes_deploy,
        routes_models,
        routes_more,
        routes_services,
    )

    return (routes_auth, routes_models, routes_deploy, routes_services, routes_more)


def install(app: FastAPI) -> None:
    from fastapi.staticfiles import StaticFiles

    from modelport.server.studio.render import HERE

    app.mount(STATIC_PATH, StaticFiles(directory=HERE / "static"), name="studio-static")
    for module in pages():
        app.include_router(module.router, include_in_schema=False)
