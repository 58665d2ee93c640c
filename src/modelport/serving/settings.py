"""Every inference-server setting, declared once as data.

The same table drives the argparse options of ``python -m modelport.serving``, the environment
variables (modelport's own ``MODELPORT_*`` names and the original server's names), the optional JSON
config file and the settings table in docs/serving.md (a test checks the doc matches).

Precedence: command-line flag > ``MODELPORT_*`` variable > original (Azure ML) variable > config
file > default.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


def _bool(value: str) -> bool:
    v = value.strip().lower()
    if v in ("1", "true", "yes", "on"):
        return True
    if v in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"expected true or false, got {value!r}")


@dataclass(frozen=True)
class Setting:
    """One setting: its flag, its environment variables, its type, default and help."""

    name: str
    flag: str | None
    env: tuple[str, ...]
    type: Callable[[str], Any]
    default: Any
    help: str
    metavar: str | None = None


# fmt: off
SETTINGS: tuple[Setting, ...] = (
    Setting("entry_script", "--entry-script", ("MODELPORT_ENTRY_SCRIPT", "AZUREML_ENTRY_SCRIPT"), str, None,
            "Entry script defining init() and run(); relative paths are resolved against the source "
            "directory, then the app root. Default: main.py in the source directory.", "PATH"),
    Setting("source_dir", "--source-dir", ("MODELPORT_SOURCE_DIR", "AZUREML_SOURCE_DIRECTORY"), str, None,
            "Source directory of the entry script (put on sys.path). Default: the entry script's folder.",
            "DIR"),
    Setting("app_root", "--app-root", ("MODELPORT_APP_ROOT", "AML_APP_ROOT"), str, None,
            "App root: the working directory of the server and first entry of sys.path; holds "
            "azureml-models/NAME/VERSION/ for Model.get_model_path. Default: the current directory.",
            "DIR"),
    Setting("model_dir", "--model-dir", ("MODELPORT_MODEL_DIR", "AZUREML_MODEL_DIR"), str, None,
            "Model directory, exported to the entry script as AZUREML_MODEL_DIR.", "DIR"),
    Setting("host", "--host", ("MODELPORT_HOST",), str, "127.0.0.1",
            "Interface to listen on (0.0.0.0 for every interface).", "ADDR"),
    Setting("port", "--port", ("MODELPORT_PORT", "SERVER_PORT"), int, 5001,
            "Port to listen on. The socket always has SO_REUSEPORT, so several replicas may share it.",
            "PORT"),
    Setting("health_port", "--health-port", ("MODELPORT_HEALTH_PORT",), int, None,
            "Private per-process port answering GET / (503 until init() finished) and /metrics. When "
            "set, the shared --port is only listened on after init() succeeded, so a starting replica "
            "never receives scoring traffic (used by the deployment drivers for rolling updates).",
            "PORT"),
    Setting("workers", "--workers", ("MODELPORT_WORKERS", "WORKER_COUNT"), int, 1,
            "Worker processes; each loads the entry script and runs init(); they share the port.", "N"),
    Setting("config_file", "--config-file", ("MODELPORT_CONFIG_FILE", "AZUREML_CONFIG_FILE"), str, None,
            "JSON file whose keys are the environment variable names of this table.", "FILE"),
    Setting("cors_origins", "--access-control-allow-origins", ("MODELPORT_CORS_ORIGINS", "AML_CORS_ORIGINS"),
            str, None, "Comma-separated origins allowed by CORS on /score and /swagger.json, or *.",
            "ORIGINS"),
    Setting("max_concurrent_requests", "--max-concurrent-requests", ("MODELPORT_MAX_CONCURRENT_REQUESTS",),
            int, 1, "At most this many run() calls in flight (replica_max_concurrent_requests); with "
            "@modelport.batch it bounds concurrent batch calls.", "N"),
    Setting("max_queue_wait_ms", "--max-queue-wait-ms", ("MODELPORT_MAX_QUEUE_WAIT_MS",), int, 500,
            "A request waits at most this long for a free slot, then gets 503 (max_request_wait_time).",
            "MS"),
    Setting("max_queue_length", "--max-queue-length", ("MODELPORT_MAX_QUEUE_LENGTH",), int, 1000,
            "At most this many requests wait for a slot; more get 503 at once.", "N"),
    Setting("scoring_timeout_ms", "--scoring-timeout-ms", ("MODELPORT_SCORING_TIMEOUT_MS", "SCORING_TIMEOUT_MS"),
            int, 3_600_000, "A run() longer than this answers 504; a thread-run call keeps its slot "
            "until it really returns.", "MS"),
    Setting("inline_run_budget_ms", "--inline-run-budget-ms", ("MODELPORT_INLINE_RUN_BUDGET_MS",), float, 2.0,
            "A plain run() whose last 32 calls each took at most this long is called on the event loop "
            "itself while no other call is in progress, saving a thread hand-off (about a quarter of "
            "the CPU of a sub-millisecond model's request). The loop waits meanwhile, so keep it small; "
            "a call over budget sends run() back to a thread. At most a tenth of --scoring-timeout-ms; 0 "
            "turns it off.", "MS"),
    Setting("max_body_bytes", "--max-body-bytes", ("MODELPORT_MAX_BODY_BYTES",), int, 100 * 1024 * 1024,
            "Larger request bodies get 413 without being read into memory.", "BYTES"),
    Setting("threads", "--threads", ("MODELPORT_THREADS",), int, None,
            "Threads running a @modelport.batch plain run() (batches in parallel). Default: "
            "--max-concurrent-requests. An unbatched plain run() always has one thread per allowed "
            "concurrent request.", "N"),
    Setting("graceful_timeout", "--graceful-timeout", ("MODELPORT_GRACEFUL_TIMEOUT",), float, 10.0,
            "On SIGTERM, exit at the latest this many seconds later (in-flight requests finish first).",
            "SECONDS"),
    Setting("drain_grace", "--drain-grace", ("MODELPORT_DRAIN_GRACE",), float, 2.0,
            "On SIGTERM, keep answering on already-open connections this long (with Connection: close) "
            "so keep-alive clients move to a sibling replica.", "SECONDS"),
    Setting("keep_alive", "--keep-alive", ("MODELPORT_KEEP_ALIVE",), float, 5.0,
            "Close idle keep-alive connections after this many seconds; a request whose line and "
            "headers have not all arrived by then gets 408.", "SECONDS"),
    Setting("body_timeout", "--body-timeout", ("MODELPORT_BODY_TIMEOUT",), float, 30.0,
            "A request body that sends nothing for this many seconds, or averages under 1 KiB/s past "
            "them, gets 408 and the connection closes.", "SECONDS"),
    Setting("max_connections", "--max-connections", ("MODELPORT_MAX_CONNECTIONS",), int, 1000,
            "Open connections per worker process (lowered to fit the open-file limit). At the cap the "
            "connection idle or stalled longest is closed to make room; when every one is busy the "
            "newcomer gets 503. The health port has a separate cap of 64.", "N"),
    Setting("access_log", "--access-log", ("MODELPORT_ACCESS_LOG",), str, "off",
            "Access log: off, or json (one JSON object per request on stderr).", "off|json"),
    Setting("log_level", "--log-level", ("MODELPORT_LOG_LEVEL", "AZUREML_LOG_LEVEL"), str, "INFO",
            "Log level (DEBUG shows why each batch was released).", "LEVEL"),
    Setting("service_name", "--service-name", ("SERVICE_NAME",), str, "ML service",
            "Service name shown in the swagger documents.", "NAME"),
    Setting("service_version", None, ("SERVICE_VERSION",), str, "1.0",
            "Service version shown in the swagger documents.", None),
    Setting("service_path_prefix", None, ("SERVICE_PATH_PREFIX",), str, "",
            "Path prefix added to the paths of the swagger documents.", None),
    Setting("server_version_header", None, ("SERVER_VERSION_LOG_RESPONSE_ENABLED",), _bool, True,
            "Send x-ms-server-version on every response.", None),
    Setting("auth_file", "--auth-file", ("MODELPORT_AUTH_FILE",), str, None,
            "JSON file with the keys or token secrets /score requires (see Authentication); re-read "
            "when it changes.", "FILE"),
    Setting("tls_cert", "--tls-cert", ("MODELPORT_TLS_CERT",), str, None,
            "PEM certificate chain: serve HTTPS (TLS 1.2 minimum).", "FILE"),
    Setting("tls_key", "--tls-key", ("MODELPORT_TLS_KEY",), str, None, "PEM private key of --tls-cert.",
            "FILE"),
)
# fmt: on

BY_NAME: dict[str, Setting] = {s.name: s for s in SETTINGS}


@dataclass
class Settings:
    """Resolved values, one attribute per Setting."""

    values: dict[str, Any] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["values"][name]
        except KeyError:
            raise AttributeError(name) from None


def _convert(setting: Setting, raw: Any, source: str) -> Any:
    if raw is None or not isinstance(raw, str):
        return raw
    try:
        return setting.type(raw)
    except ValueError as exc:
        raise ValueError(f"{source}: invalid value {raw!r} ({exc})") from None


def resolve(cli: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> Settings:
    """Merge command-line values (None = not given), environment, config file and defaults."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for s in SETTINGS:
        if cli.get(s.name) is not None:
            values[s.name] = cli[s.name]
            continue
        for var in s.env:
            if env.get(var) not in (None, ""):
                values[s.name] = _convert(s, env[var], var)
                break
    config_path = values.get("config_file")
    if config_path:
        try:
            with open(config_path, encoding="utf-8") as f:
                data = json.load(f)
        except (OSError, ValueError) as exc:
            raise ValueError(f"config file {config_path}: {exc}") from None
        if not isinstance(data, dict):
            raise ValueError(f"config file {config_path}: expected a JSON object")
        for s in SETTINGS:
            if s.name in values:
                continue
            for var in s.env:
                if var in data and data[var] is not None:
                    raw = data[var]
                    values[s.name] = _convert(
                        s, raw if not isinstance(raw, bool) else str(raw), var
                    )
                    break
    for s in SETTINGS:
        values.setdefault(s.name, s.default)
    if values["threads"] is None:
        values["threads"] = max(1, values["max_concurrent_requests"])
    for name in ("max_concurrent_requests", "workers", "threads", "max_connections"):
        if values[name] < 1:
            raise ValueError(f"{name.replace('_', '-')} must be at least 1")
    if values["inline_run_budget_ms"] < 0:
        raise ValueError("inline-run-budget-ms must be 0 (off) or more")
    if values["access_log"] not in ("off", "json"):
        raise ValueError("access-log must be off or json")
    return Settings(values)


def markdown_table() -> str:
    """The settings table of docs/serving.md."""
    lines = ["| Flag | Environment variables | Default | Meaning |", "|---|---|---|---|"]
    for s in SETTINGS:
        flag = f"`{s.flag} {s.metavar}`" if s.flag else "—"
        env = ", ".join(f"`{v}`" for v in s.env)
        default = "—" if s.default is None else f"`{s.default}`"
        lines.append(f"| {flag} | {env} | {default} | {s.help} |")
    return "\n".join(lines)
