"""Which workspace server a client talks to, and with which token.

Resolution order (first match wins):
1. ``MODELPORT_URL`` (+ ``MODELPORT_TOKEN``) in the environment: a remote or explicitly chosen server;
2. ``server_url`` (+ ``server_token``) read from a workspace config file;
3. the local server of ``MODELPORT_HOME`` (default ``~/.modelport``), started in the background on
   first use, its token read from ``<home>/token``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from modelport.server.home import default_home  # the one definition (server, SDK, CLI)

ENV_URL = "MODELPORT_URL"
ENV_TOKEN = "MODELPORT_TOKEN"
ENV_HOME = "MODELPORT_HOME"
ENV_CA_BUNDLE = "MODELPORT_CA_BUNDLE"


@dataclass(frozen=True)
class Target:
    """Where requests go.

    ``url is None`` means "the local server of ``home``": it is looked up (and started if needed)
    on the first request, so building a client never starts a process by itself.
    """

    url: str | None
    token: str | None
    home: Path
    source: str  # "explicit", "env", "config" or "local": named in error hints

    @property
    def is_local(self) -> bool:
        return self.url is None


def resolve_target(
    server_url: str | None = None,
    token: str | None = None,
    *,
    home: Path | None = None,
) -> Target:
    """Pick the server: explicit arguments, then the environment, then the local home server.

    ``server_url``/``token`` are what the caller found in a config file or was given directly;
    the environment wins over a config file so that one shell can point every project elsewhere.
    """
    home = home if home is not None else default_home()
    env_url = os.environ.get(ENV_URL)
    env_token = os.environ.get(ENV_TOKEN)
    if env_url:
        return Target(_clean(env_url), env_token or token or _home_token(home), home, "env")
    if server_url:
        return Target(_clean(server_url), token or env_token or _home_token(home), home, "config")
    return Target(None, env_token or token, home, "local")


def _clean(url: str) -> str:
    url = url.strip().rstrip("/")
    if url.endswith("/api/v1"):
        url = url[: -len("/api/v1")]
    return url


def _home_token(home: Path) -> str | None:
    """The local server's token, used for a URL given without one (e.g. the local server's own)."""
    try:
        return (home / "token").read_text().strip() or None
    except OSError:
        return None
