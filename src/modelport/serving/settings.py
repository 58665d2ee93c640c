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

from modelport.serving import azmlinfsrv


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
    aliases: tuple[str, ...] = ()  # other spellings of the flag (azmlinfsrv's underscores)


# fmt: off
SETTINGS: tuple[Setting, ...] = (
    Setting("entry_script", "--entry-script", ("MODELPORT_ENTRY_SCRIPT", "AZUREML_ENTRY_SCRIPT"), str, None,
            "Entry script defining init() and run(); relative paths are resolved against the source "
            "directory, then the app root. Default: main.py in the source directory.", "PATH",
            ("--entry_script",)),
    Setting("source_dir", "--source-dir", ("MODELPORT_SOURCE_DIR", "AZUREML_SOURCE_DIRECTORY"), str, None,
            "Source directory of the entry script (put on sys.path). Default: the entry script's folder.",
            "DIR"),
    Setting("app_root", "--app-root", ("MODELPORT_APP_ROOT", "AML_APP_ROOT"), str, None,
            "App root: the working directory of the server and first entry of sys.path; holds "
            "azureml-models/NAME/VERSION/ for Model.get_model_path. Default: the current directory.",
            "DIR"),
    Setting("model_dir", "--model-dir", ("MODELPORT_MODEL_DIR", "AZUREML_MODEL_DIR"), str, None,
            "Model directory, exported to the entry script as AZUREML_MODEL_DIR as given (a relative "
            "path stays relative while the app root is the working directory).", "DIR", ("--model_dir",)),
    Setting("host", "--host", ("MODELPORT_HOST",), str, "127.0.0.1",
            "Interface to listen on (0.0.0.0 for every interface).", "ADDR"),
    Setting("port", "--port", ("MODELPORT_PORT", "SERVER_PORT"), int, 5001,
            "Port to listen on. A port another process listens on is an error naming that process; "
            "only the workers of one server, --share-port and the deployment drivers' replicas "
            "(--health-port) share a port.", "PORT"),
    Setting("share_port", "--share-port", ("MODELPORT_SHARE_PORT",), _bool, False,
            "Join other servers started with --share-port on the same port (SO_REUSEPORT); the kernel "
            "spreads connections over them.", None),
    Setting("health_port", "--health-port", ("MODELPORT_HEALTH_PORT",), int, None,
            "Private per-process port answering GET / (503 until init() finished) and /metrics. When "
            "set, the shared --port is only listened on after init() succeeded, so a starting replica "
            "never receives scoring traffic (used by the deployment drivers for rolling updates). "
            "With azmlinfsrv's SEPERATE_HEALTH_ENDPOINT=true: HEALTH_PORT, default 5000.",
            "PORT", ("--health_port",)),
    Setting("workers", "--workers", ("MODELPORT_WORKERS", "WORKER_COUNT"), int, 1,
            "Worker processes; each loads the entry script and runs init(); they share the port. With "
            "N > 1 each listens once its init() has finished (one alone answers 503 until then).", "N",
            ("--worker_count",)),
    Setting("worker_timeout", None, ("WORKER_TIMEOUT",), int, None,
            "azmlinfsrv's gunicorn worker timeout in seconds: when set, a run() longer than this answers "
            "504 even if --scoring-timeout-ms is longer.", None),
    Setting("config_file", "--config-file", ("MODELPORT_CONFIG_FILE", "AZUREML_CONFIG_FILE"), str, None,
            "JSON file whose keys are the environment variable names of this table. Without it, a "
            "non-empty config.json in the app root or beside the entry script is read, as azmlinfsrv "
            "does.", "FILE", ("--config_file",)),
    Setting("cors_origins", "--access-control-allow-origins", ("MODELPORT_CORS_ORIGINS", "AML_CORS_ORIGINS"),
            str, None, "Comma-separated origins allowed by CORS on /score and /swagger.json, or *.",
            "ORIGINS", ("--access_control_allow_origins",)),
    Setting("app_insights_key", "--appinsights-instrumentation-key", ("AML_APP_INSIGHTS_KEY",), str, None,
            "Accepted for azmlinfsrv command lines: enables AML_APP_INSIGHTS_ENABLED for the entry "
            "script when it is a UUID; modelport sends no telemetry to Application Insights.", "KEY",
            ("--appinsights_instrumentation_key",)),
    Setting("app_insights_enabled", None, ("AML_APP_INSIGHTS_ENABLED",), str, None,
            "Exported to the entry script as azmlinfsrv does: \"true\" only with a UUID key.", None),
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
    Setting("busy_poll_us", "--busy-poll-us", ("MODELPORT_BUSY_POLL_US",), int, 200,
            "After its last answer a worker keeps polling for new requests up to this long instead "
            "of sleeping at once (a sleep and wake-up costs tens of µs of latency and colder caches per "
            "request); the time adapts to the gaps between requests seen, like Linux's haltpoll, and "
            "falls to nothing when requests come further apart than this. 0 turns it off.", "US"),
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
    Setting("allowed_hosts", "--allowed-hosts", ("MODELPORT_ALLOWED_HOSTS",), str, None,
            "Comma-separated host names (without ports) the Host header of a request must name; "
            "others get 421. Protects a service without auth from DNS rebinding (a web page whose "
            "name resolves to this address calling it from a visitor's browser). The health port "
            "is not checked.", "HOSTS"),
    Setting("access_log", "--access-log", ("MODELPORT_ACCESS_LOG",), str, "off",
            "Access log: off, or json (one JSON object per request on stderr).", "off|json"),
    Setting("log_format", "--log-format", ("MODELPORT_LOG_FORMAT",), str, "modelport",
            "Layout of log lines: modelport, or azmlinfsrv (the original's 'date level [pid] logger - "
            "message', print() lines as azmlinfsrv.print, one line per /score request) for log "
            "pipelines that parse it. A logging.json in the app root configures logging either way.",
            "modelport|azmlinfsrv"),
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
    warnings: list[str] = field(default_factory=list)  # logged once logging is set up

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


def _from_environment(env: Mapping[str, str], values: dict[str, Any], warnings: list[str]) -> None:
    """Environment values of the settings not given on the command line. An unparseable value of
    one of the original's variables is a warning and the default, as azmlinfsrv treats its
    optional variables; modelport's own ``MODELPORT_*`` ones are errors, like their flags."""
    for s in SETTINGS:
        if s.name in values:
            continue
        for var in s.env:
            if env.get(var) in (None, ""):
                continue
            try:
                values[s.name] = _convert(s, env[var], var)
            except ValueError as exc:
                if var.startswith("MODELPORT_"):  # modelport's own variables are as strict as flags
                    raise
                warnings.append(f"{exc}; using the default {s.default!r}")
                continue
            break


def _from_config_file(path: str, values: dict[str, Any], warnings: list[str]) -> None:
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError) as exc:
        raise ValueError(f"config file {path}: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError(f"config file {path}: expected a JSON object")
    known = {var for s in SETTINGS for var in s.env} | azmlinfsrv.CONFIG_ONLY_KEYS
    extra = [k for k in data if k not in known]
    if extra:  # the original's warning, for its own extra-key check
        warnings.append(
            f"Found extra keys in the config file that are not supported by the server.\n"
            f"Extra keys = {extra}"
        )
    for s in SETTINGS:
        if s.name in values:
            continue
        for var in s.env:
            if var in data and data[var] is not None:
                raw = data[var]
                values[s.name] = _convert(s, raw if not isinstance(raw, bool) else str(raw), var)
                break


def resolve(cli: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> Settings:
    """Merge command-line values (None = not given), environment, config file and defaults."""
    env = os.environ if environ is None else environ
    warnings: list[str] = []
    values: dict[str, Any] = {s.name: cli[s.name] for s in SETTINGS if cli.get(s.name) is not None}
    _from_environment(env, values, warnings)
    if values.get("config_file"):
        _from_config_file(values["config_file"], values, warnings)
    else:
        found = azmlinfsrv.find_config_file(values.get("entry_script"), values.get("app_root"))
        try:
            if found:
                _from_config_file(found, values, warnings)
                values["config_file"] = found
        except ValueError as exc:  # a config.json that was never meant for the server
            warnings.append(f"{exc}; ignored")
    for s in SETTINGS:
        values.setdefault(s.name, s.default)
    azmlinfsrv.apply(values, cli, env, warnings)
    if values["threads"] is None:
        values["threads"] = max(1, values["max_concurrent_requests"])
    for name in ("max_concurrent_requests", "workers", "threads", "max_connections"):
        if values[name] < 1:
            raise ValueError(f"{name.replace('_', '-')} must be at least 1")
    if not 0 <= values["busy_poll_us"] <= 100_000:
        raise ValueError("busy-poll-us must be between 0 (off) and 100000")
    if values["inline_run_budget_ms"] < 0:
        raise ValueError("inline-run-budget-ms must be 0 (off) or more")
    if values["access_log"] not in ("off", "json"):
        raise ValueError("access-log must be off or json")
    if values["log_format"] not in ("modelport", "azmlinfsrv"):
        raise ValueError("log-format must be modelport or azmlinfsrv")
    return Settings(values, warnings)


def markdown_table() -> str:
    """The settings table of docs/serving.md."""
    lines = ["| Flag | Environment variables | Default | Meaning |", "|---|---|---|---|"]
    for s in SETTINGS:
        flag = f"`{s.flag}{f' {s.metavar}' if s.metavar else ''}`" if s.flag else "—"
        env = ", ".join(f"`{v}`" for v in s.env)
        default = "—" if s.default is None else f"`{s.default}`"
        lines.append(f"| {flag} | {env} | {default} | {s.help} |")
    return "\n".join(lines)
