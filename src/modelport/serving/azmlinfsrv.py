"""What an ``azmlinfsrv`` user's configuration means here: config.json discovery, the separate
health endpoint, Application Insights variables, the worker timeout and the startup banner, each as
azureml-inference-server-http 1.5.1 reads or prints it."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

DEFAULT_HEALTH_PORT = 5000
# config.json keys the original reads that no modelport setting has; accepted without the
# extra-key warning (WORKSPACE_NAME and HOSTNAME only label telemetry there)
CONFIG_ONLY_KEYS = frozenset(
    {
        "WORKSPACE_NAME",
        "HOSTNAME",
        "AZUREML_DEBUG_PORT",
        "APP_INSIGHTS_LOG_RESPONSE_ENABLED",
        "AML_MODEL_DC_STORAGE_ENABLED",
    }
)
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z", re.I)


def _usable(path: str) -> bool:
    return os.path.isfile(path) and os.path.getsize(path) != 0


def find_config_file(entry_script: str | None, app_root: str | None) -> str | None:
    """A non-empty ``config.json`` in the app root, else beside the entry script (the original's
    order); None when neither exists."""
    roots = [app_root or os.getcwd()]
    if entry_script:
        roots.append(os.path.dirname(os.path.abspath(entry_script)))
    for root in roots:
        candidate = os.path.join(root, "config.json")
        if _usable(candidate):
            return os.path.abspath(candidate)
    return None


def apply(
    values: dict[str, Any], cli: Mapping[str, Any], env: Mapping[str, str], warnings: list[str]
) -> None:
    """Settings that depend on several azmlinfsrv variables at once."""
    # SEPERATE_HEALTH_ENDPOINT (sic): only then does HEALTH_PORT count, default 5000
    if env.get("SEPERATE_HEALTH_ENDPOINT") == "true" and values.get("health_port") is None:
        port = DEFAULT_HEALTH_PORT
        raw = env.get("HEALTH_PORT")
        if raw:
            try:
                port = int(raw)
            except ValueError:
                warnings.append(f"HEALTH_PORT: invalid value {raw!r}; using {DEFAULT_HEALTH_PORT}")
        values["health_port"] = port
    # App Insights: "true" for the script only with a UUID key, as the original validates it
    key = values.get("app_insights_key")
    enabled = "true" if cli.get("app_insights_key") else values.get("app_insights_enabled")
    if enabled == "true" and key:
        if _UUID.match(key):
            values["app_insights_enabled"] = "true"
            warnings.append(
                "Application Insights key accepted; modelport sends no telemetry to Application "
                "Insights (use GET /metrics or the workspace server's telemetry)"
            )
        else:
            values["app_insights_enabled"] = "false"
            warnings.append(
                "Invalid Application Insights instrumentation key provided. Application Insights "
                "has been disabled."
            )
    else:
        values["app_insights_enabled"] = "false"
    # gunicorn killed a worker busy longer than WORKER_TIMEOUT: the scoring timeout is capped by it
    timeout = values.get("worker_timeout")
    if timeout is not None:
        if timeout < 1:
            warnings.append(f"WORKER_TIMEOUT: invalid value {timeout!r}; ignored")
        elif timeout * 1000 < values["scoring_timeout_ms"]:
            values["scoring_timeout_ms"] = timeout * 1000


def banner(settings: Any, version: str) -> str:
    """The facts the original prints at startup, in its layout."""
    health = settings.health_port if settings.health_port is not None else settings.port
    rows = (
        ("Entry Script Name", settings.entry_script),
        ("Model Directory", settings.model_dir),
        ("Config File", settings.config_file),
        ("Worker Count", settings.workers),
        ("Worker Timeout (seconds)", settings.worker_timeout),
        ("Scoring Timeout (ms)", settings.scoring_timeout_ms),
        ("Server Port", settings.port),
        ("Health Port", health),
        ("Application Insights Enabled", settings.app_insights_enabled),
        (
            "Application Insights Key",
            "AppInsights key provided" if settings.app_insights_key else None,
        ),
        ("Inferencing HTTP server version", f"modelport/{version}"),
        ("CORS for the specified origins", settings.cors_origins),
        ("Create dedicated endpoint for health", "true" if settings.health_port else None),
    )
    host = settings.host
    lines = [
        "",
        f"modelport inference server v{version} (azmlinfsrv-compatible)",
        "",
        "Server Settings",
        "---------------",
        *(f"{name}: {value}" for name, value in rows),
        "",
        "Server Routes",
        "---------------",
        f"Liveness Probe: GET   {host}:{health}/",
        f"Score:          POST  {host}:{settings.port}/score",
        "",
    ]
    return "\n".join(lines)
