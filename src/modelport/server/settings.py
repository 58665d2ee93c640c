"""Settings of the workspace server, declared once as data.

Each setting reaches the server from a command-line flag or an environment variable (the flag wins);
``docs/server.md`` documents every one of them and a test keeps the two in step.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Setting:
    name: str
    flag: str
    env: str
    default: str | None
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "home", "--home", "MODELPORT_HOME", "~/.modelport", "Server home: token, database, logs."
    ),
    Setting("host", "--host", "MODELPORT_HOST", "127.0.0.1", "Interface to listen on."),
    Setting("port", "--port", "MODELPORT_PORT", "0", "TCP port; 0 picks a free one."),
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
    ),
    Setting(
        "tls_cert",
        "--tls-cert",
        "MODELPORT_SERVER_TLS_CERT",
        None,
        "PEM certificate (full chain): serve HTTPS, TLS 1.2 or newer only.",
    ),
    Setting("tls_key", "--tls-key", "MODELPORT_SERVER_TLS_KEY", None, "PEM key of --tls-cert."),
    Setting(
        "max_connections",
        "--max-connections",
        "MODELPORT_MAX_CONNECTIONS",
        "1000",
        "Open connections at once (lowered to fit the open-file limit); past it the most stalled "
        "one is closed, or the newcomer gets 503 when all are busy.",
    ),
    Setting(
        "body_timeout",
        "--body-timeout",
        "MODELPORT_BODY_TIMEOUT",
        "30",
        "Seconds a request body may send nothing (or average under 1 KiB/s) before 408.",
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

    @property
    def scheme(self) -> str:
        return "https" if self.tls_cert else "http"

    @property
    def resolved_database_url(self) -> str:
        return normalize_database_url(self.database_url or f"sqlite:///{self.home / 'db.sqlite'}")

    @property
    def artifacts_dir(self) -> Path:
        return self.artifacts or self.home / "artifacts"


def default_home() -> Path:
    return Path(os.environ.get("MODELPORT_HOME") or "~/.modelport").expanduser()


def normalize_database_url(url: str) -> str:
    """Use psycopg (version 3, the driver we install) for a bare ``postgresql://`` URL."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url
