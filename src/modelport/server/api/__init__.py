"""The HTTP API under ``/api/v1``: every router is registered from ``ROUTERS``.

Adding a concept = a module with an ``APIRouter`` named ``router`` + one line here.
"""

from __future__ import annotations

from fastapi import APIRouter

from modelport.server.api import (
    blobs,
    environments,
    health,
    models,
    packages,
    runs,
    services,
    workspaces,
)
from modelport.server.api import metrics as metrics_api
from modelport.server.api import targets as targets_api
from modelport.server.api import telemetry as telemetry_api
from modelport.server.api import webhooks as webhooks_api

PREFIX = "/api/v1"

# (router, whether it requires the bearer token)
ROUTERS: list[tuple[APIRouter, bool]] = [
    (health.router, False),
    (workspaces.router, True),
    (blobs.router, True),
    (models.router, True),
    (runs.router, True),
    (services.router, True),
    (environments.router, True),
    (telemetry_api.ingest_router, False),  # replicas: their service's ingestion key
    (telemetry_api.router, True),
    (webhooks_api.router, True),
    (metrics_api.router, True),
    (packages.router, True),
    (targets_api.router, True),
]
