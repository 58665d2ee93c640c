"""Everything the deploy code shares inside one server process: paths, secrets, driver, reconciler."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelport.server.deploy import auth
from modelport.server.deploy.crypto import SecretBox
from modelport.server.deploy.driver import DriverAdapter

if TYPE_CHECKING:
    from modelport.server.context import ServerContext
    from modelport.server.reconciler import Reconciler
    from modelport.server.store.services import Service

# Where built environments are cached; shared between servers (and test runs) when set.
ENV_CACHE_VARIABLE = "MODELPORT_ENV_CACHE"
LOG_FILE = "deploy.log"


@dataclass(frozen=True)
class DeploySettings:
    """Timeouts of the rollout: ``HOME/deploy.json`` (camelCase keys), then env vars, then defaults."""

    startup_timeout: float = 180.0  # a new revision must be ready within this (plus initial delay)
    scheduling_timeout: float = 300.0  # Unschedulable this long → Failed (the original: 5 min)

    @classmethod
    def load(cls, home: Path) -> DeploySettings:
        import json

        try:
            data = json.loads((home / "deploy.json").read_text())
        except (OSError, ValueError):
            data = {}
        return cls(
            startup_timeout=float(
                os.environ.get("MODELPORT_STARTUP_TIMEOUT")
                or data.get("startupTimeoutSeconds", cls.startup_timeout)
            ),
            scheduling_timeout=float(
                os.environ.get("MODELPORT_SCHEDULING_TIMEOUT")
                or data.get("schedulingTimeoutSeconds", cls.scheduling_timeout)
            ),
        )


@dataclass
class DeployContext:
    server: ServerContext
    box: SecretBox
    driver: DriverAdapter
    services_root: Path
    env_cache: Path
    settings: DeploySettings = field(default_factory=DeploySettings)
    reconciler: Reconciler | None = None
    # replica restarts seen when each service was last Healthy (crash-loop detection)
    restarts_when_healthy: dict[int, int] = field(default_factory=dict)
    # services whose auth files this process has rewritten from the row since it started
    auth_synced: set[int] = field(default_factory=set)
    _log_lock: threading.Lock = field(default_factory=threading.Lock)

    # -- paths ---------------------------------------------------------------------------------
    def service_dir(self, workspace: str, name: str) -> Path:
        return self.services_root / workspace / name

    def auth_file(self, workspace: str, name: str) -> Path:
        return self.service_dir(workspace, name) / auth.AUTH_FILE_NAME

    def write_auth_file(
        self, workspace: str, name: str, settings: auth.AuthSettings, *, remove: bool = False
    ) -> Path | None:
        """Write the service's auth file from ``settings``; with auth off, keep the file for
        replicas still running (``remove=True`` once no revision needs it)."""
        doc = settings.auth_file_document(name)
        path = self.auth_file(workspace, name)
        if doc is None:
            if remove:
                path.unlink(missing_ok=True)
            return None
        auth.write_auth_file(path, doc)
        return path

    # -- the deployment log --------------------------------------------------------------------
    def log_writer(self, workspace: str, name: str) -> Callable[[str], None]:
        path = self.service_dir(workspace, name) / LOG_FILE

        def write(line: str) -> None:
            stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"
            with self._log_lock:
                path.parent.mkdir(parents=True, exist_ok=True)
                with path.open("a", encoding="utf-8") as f:
                    for part in str(line).rstrip("\n").splitlines() or [""]:
                        f.write(f"{stamp} {part}\n")

        return write

    def logs(self, service: Service, num_lines: int) -> str:
        path = self.service_dir(service.workspace, service.name) / LOG_FILE
        try:
            deploy_lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        except FileNotFoundError:
            deploy_lines = []
        replica_text = self.driver.logs(service, num_lines)
        lines = [*deploy_lines, *replica_text.splitlines()]
        return "\n".join(lines[-num_lines:]) + ("\n" if lines else "")

    def replicas(self, service: Service) -> list[dict[str, Any]]:
        try:
            return self.driver.replicas(service)
        except Exception:  # a read must not fail because the driver is busy or the service gone
            return []

    # -- environments -------------------------------------------------------------------------
    def registered_environment(
        self, name: str, version: Any, workspace: str | None = None
    ) -> dict[str, Any]:
        """Azure JSON of a curated or registered environment; NotFound otherwise."""
        from modelport.environments.curated import get_curated, is_curated
        from modelport.environments.spec import to_azure_json

        if is_curated(name):
            return to_azure_json(get_curated(name, None if version is None else str(version)))
        lookup = _registered_lookup()
        if lookup is None:
            from modelport.errors import NotFound

            raise NotFound(f"Environment {name!r} not found")
        return dict(lookup(self.server, name, version, workspace=workspace))

    def wake(self) -> None:
        if self.reconciler is not None:
            self.reconciler.wake()


def _registered_lookup() -> Any:
    """The environments module's lookup of registered environments, if that module is present."""
    try:
        from modelport.server.store import environments as env_store
    except ImportError:
        return None
    return getattr(env_store, "azure_json_for", None)


_CONTEXTS: dict[int, DeployContext] = {}
_LOCK = threading.Lock()


def deploy_context(server: ServerContext) -> DeployContext:
    """The DeployContext of this server (created on first use)."""
    with _LOCK:
        dctx = _CONTEXTS.get(id(server))
        if dctx is None:
            home = Path(server.settings.home)
            env_cache = Path(os.environ.get(ENV_CACHE_VARIABLE) or home / "environments")
            dctx = DeployContext(
                server=server,
                box=SecretBox.for_home(home),
                driver=DriverAdapter(home / "replicas"),
                services_root=home / "services",
                env_cache=env_cache,
                settings=DeploySettings.load(home),
            )
            _CONTEXTS[id(server)] = dctx
        return dctx


def forget(server: ServerContext) -> None:
    with _LOCK:
        _CONTEXTS.pop(id(server), None)
