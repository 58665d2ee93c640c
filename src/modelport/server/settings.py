"""Settings of the workspace server, declared once as data.

Each setting reaches the server from a command-line flag, an environment variable or, for those
with a ``file_key``, the settings file ``HOME/deploy.json``, in that order of precedence, else
its default. ``docs/server.md`` documents every one of them and a test keeps the two in step. A
settings file that cannot be read or parsed stops the server with a message naming the file.

To add a setting: one ``Setting`` row (its ``kind`` converts and checks the text) and a field of
the same name on ``ServerSettings``; ``resolve`` and ``python -m modelport.server`` pick it up.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelport.errors import ModelportError
from modelport.server.home import default_home

SETTINGS_FILE = "deploy.json"  # in the server home: camelCase keys (``Setting.file_key``)


def _path(text: str) -> Path:
    return Path(text).expanduser()


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError("must be positive")
    return value


def _curated_names(text: str) -> tuple[str, ...]:
    from modelport.environments.curated import curated_names, is_curated

    names = tuple(n.strip() for n in text.split(",") if n.strip())
    unknown = [n for n in names if not is_curated(n)]
    if unknown:
        raise ValueError(
            f"not curated: {', '.join(unknown)}; curated: {', '.join(curated_names())}"
        )
    return names


def _positive_float(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise ValueError("must be positive")
    return value


@dataclass(frozen=True)
class Setting:
    name: str
    flag: str
    env: str
    default: str | None
    help: str
    kind: Callable[[str], Any] = str  # text → value; a ValueError names the setting
    file_key: str | None = None  # the key in HOME/deploy.json, for settings the file may hold


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "home",
        "--home",
        "MODELPORT_HOME",
        "~/.modelport",
        "Server home: token, database, logs (root: /var/lib/modelport unless ~/.modelport exists).",
        _path,
    ),
    Setting("host", "--host", "MODELPORT_HOST", "127.0.0.1", "Interface to listen on."),
    Setting("port", "--port", "MODELPORT_PORT", "0", "TCP port; 0 picks a free one.", int),
    Setting(
        "database_url",
        "--database-url",
        "MODELPORT_DATABASE_URL",
        None,
        "SQLAlchemy URL of the metadata store; default sqlite:///HOME/db.sqlite.",
    ),
    Setting(
        "artifacts",
        "--artifacts",
        "MODELPORT_ARTIFACTS",
        None,
        "Directory of the content-addressed artifact store; default HOME/artifacts.",
        _path,
    ),
    Setting(
        "tls_cert",
        "--tls-cert",
        "MODELPORT_SERVER_TLS_CERT",
        None,
        "PEM certificate (full chain): serve HTTPS, TLS 1.2 or newer only.",
        _path,
    ),
    Setting(
        "tls_key", "--tls-key", "MODELPORT_SERVER_TLS_KEY", None, "PEM key of --tls-cert.", _path
    ),
    Setting(
        "max_connections",
        "--max-connections",
        "MODELPORT_MAX_CONNECTIONS",
        "1000",
        "Open connections at once (lowered to fit the open-file limit); past it the most stalled "
        "one is closed, or the newcomer gets 503 when all are busy.",
        _positive_int,
    ),
    Setting(
        "body_timeout",
        "--body-timeout",
        "MODELPORT_BODY_TIMEOUT",
        "30",
        "Seconds a request body may send nothing (or average under 1 KiB/s) before 408.",
        _positive_float,
    ),
    Setting(
        "reconcile_interval",
        "--reconcile-interval",
        "MODELPORT_RECONCILE_INTERVAL",
        "1.0",
        "Seconds between the reconciler's passes (a write to a service wakes it at once).",
        _positive_float,
    ),
    Setting(
        "env_cache",
        "--env-cache",
        "MODELPORT_ENV_CACHE",
        None,
        "Directory of built environments; default HOME/environments (share it between servers).",
        _path,
    ),
    Setting(
        "startup_timeout",
        "--startup-timeout",
        "MODELPORT_STARTUP_TIMEOUT",
        "180",
        "Seconds a new revision has to become ready (plus its initialDelaySeconds).",
        _positive_float,
        "startupTimeoutSeconds",
    ),
    Setting(
        "scheduling_timeout",
        "--scheduling-timeout",
        "MODELPORT_SCHEDULING_TIMEOUT",
        "300",
        "Seconds a revision may stay Unschedulable before its deployment fails.",
        _positive_float,
        "schedulingTimeoutSeconds",
    ),
    Setting(
        "prebuild_environments",
        "--prebuild-environments",
        "MODELPORT_PREBUILD_ENVIRONMENTS",
        None,
        "Curated environments (comma-separated) to build in the background at start, so their "
        "first deploy finds them ready.",
        _curated_names,
    ),
)


@dataclass(frozen=True)
class ServerSettings:
    home: Path
    host: str = "127.0.0.1"
    port: int = 0
    database_url: str | None = None
    artifacts: Path | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    max_connections: int = 1000
    body_timeout: float = 30.0
    reconcile_interval: float = 1.0
    env_cache: Path | None = None
    startup_timeout: float = 180.0
    scheduling_timeout: float = 300.0
    prebuild_environments: tuple[str, ...] | None = None

    @property
    def scheme(self) -> str:
        return "https" if self.tls_cert else "http"

    @property
    def resolved_database_url(self) -> str:
        return normalize_database_url(self.database_url or f"sqlite:///{self.home / 'db.sqlite'}")

    @property
    def artifacts_dir(self) -> Path:
        return self.artifacts or self.home / "artifacts"

    @property
    def env_cache_dir(self) -> Path:
        return self.env_cache or self.home / "environments"


def read_settings_file(home: Path) -> dict[str, Any]:
    """``HOME/deploy.json`` as a dict ({} when absent); unreadable or malformed is an error."""
    path = home / SETTINGS_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ModelportError(f"cannot read the settings file {path}: {exc.strerror}") from exc
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ModelportError(f"the settings file {path} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ModelportError(f"the settings file {path} must hold a JSON object")
    allowed = [s.file_key for s in SETTINGS if s.file_key]
    unknown = sorted(k for k in data if k not in allowed)
    if unknown:
        raise ModelportError(
            f"the settings file {path} has unknown key(s) {', '.join(unknown)}; "
            f"it may hold: {', '.join(allowed)}"
        )
    return data


def resolve(given: Mapping[str, str | None]) -> ServerSettings:
    """ServerSettings from flag values (None = not given): flag, else environment variable, else
    the settings file, else the default. A value that does not convert names its flag and variable."""
    texts = {}
    for s in SETTINGS:
        flag, env = given.get(s.name), os.environ.get(s.env)
        texts[s.name] = flag if flag is not None else env
    home = _path(texts["home"]) if texts["home"] else default_home()
    in_file = read_settings_file(home)
    values: dict[str, Any] = {"home": home}
    for s in SETTINGS[1:]:
        text = texts[s.name]
        where = f"{s.flag} (${s.env})"
        if text is None and s.file_key and s.file_key in in_file:
            text, where = str(in_file[s.file_key]), f"{s.file_key} in {home / SETTINGS_FILE}"
        if text is None:
            text = s.default
        if text is None or text == "":
            values[s.name] = None
            continue
        try:
            values[s.name] = s.kind(text)
        except ValueError as exc:
            raise ModelportError(f"{where}: {text!r} is not valid ({exc})") from None
    return ServerSettings(**values)


def normalize_database_url(url: str) -> str:
    """Use psycopg (version 3, the driver we install) for a bare ``postgresql://`` URL."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url
