"""How a replica reaches the workspace server: the ingestion URL, a service-scoped key, its env.

The key is an HMAC of the server token and the service's name, so it is checked without a
database read and cannot be used for another service or for anything but ingestion. Replicas
report over HTTP rather than into a spool directory the server sweeps: a spool only works when
replica and server share a disk (the local target), HTTP works from a Kubernetes pod too.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from typing import Any

from modelport.errors import AuthenticationError
from modelport.server import home as home_files
from modelport.server.context import ServerContext
from modelport.server.observe.settings import ObserveSettings

INGEST_PATH = "/api/v1/ingest/workspaces/{ws}/services/{name}"


def ingest_key(token: str, workspace: str, service: str) -> str:
    return hmac.new(
        token.encode(), f"ingest/{workspace}/{service}".encode(), hashlib.sha256
    ).hexdigest()


def check_key(token: str, workspace: str, service: str, given: str | None) -> None:
    expected = ingest_key(token, workspace, service)
    if given is None or not hmac.compare_digest(given.encode(), expected.encode()):
        raise AuthenticationError("wrong or missing ingestion key for this service")


def enabled(config: dict[str, Any]) -> tuple[bool, bool]:
    """(request telemetry, model data collection) from a stored deployment config."""
    data = config.get("dataCollection") or {}
    return bool(config.get("appInsightsEnabled")), bool(data.get("storageEnabled"))


def replica_env(
    ctx: ServerContext, workspace: str, service: str, config: dict[str, Any], models: list[str]
) -> dict[str, str]:
    """Variables a revision's replicas get: the v1 switches, plus where and how to report."""
    requests, data = enabled(config)
    env = {
        "AML_APP_INSIGHTS_ENABLED": "true" if requests else "false",
        "AML_MODEL_DC_STORAGE_ENABLED": "true" if data else "false",
        "MODELPORT_TELEMETRY_REQUESTS": "true" if requests else "false",
        "WORKSPACE_NAME": workspace,
    }
    if requests:
        # the inference server exports AML_APP_INSIGHTS_ENABLED=true only with a UUID key, as
        # azmlinfsrv does; a stable one per service stands in for the instrumentation key
        env["AML_APP_INSIGHTS_KEY"] = str(
            uuid.uuid5(uuid.NAMESPACE_URL, f"modelport:{workspace}/{service}")
        )
    if not (requests or data):
        return env
    settings = ObserveSettings.from_env(ctx.settings.home)
    path = INGEST_PATH.format(ws=workspace, name=service)
    info = home_files.read_info(ctx.settings.home)
    base = settings.ingest_url or (info.url if info is not None else None)
    if base is None:
        return env
    env.update(
        MODELPORT_TELEMETRY_URL=base.rstrip("/") + path,
        MODELPORT_TELEMETRY_KEY=ingest_key(ctx.token, workspace, service),
        MODELPORT_MODELS=",".join(models),
    )
    if settings.ingest_url is None:
        # a local server restarted on another port: replicas find it again through server.json
        env["MODELPORT_SERVER_INFO"] = str(ctx.settings.home / home_files.INFO_FILE)
    if ctx.settings.tls_cert is not None:
        env["MODELPORT_TELEMETRY_CA"] = str(ctx.settings.tls_cert.resolve())
    return env
