"""Everything the deploy code shares inside one server process: paths, secrets, driver, wake.

Built once, where the server is assembled (``server/app.py``), and handed to what needs it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelport.server.crypto import SecretBox
from modelport.server.deploy import auth
from modelport.server.deploy.driver import DriverAdapter
from modelport.server.deploy.kube_adapter import KubernetesRouting

if TYPE_CHECKING:
    from modelport.server.context import ServerContext
    from modelport.server.store.services import Service

LOG_FILE = "deploy.log"
MAX_OPERATION_WAIT = 30.0  # seconds a client's long poll of an operation may hold a request
_log = logging.getLogger("modelport.deploy")


def _nothing() -> None:
    """The wake callback until the server's assembly connects the reconciler."""


@dataclass(frozen=True)
class DeploySettings:
    """Timeouts of the rollout (server settings ``startup_timeout``/``scheduling_timeout``)."""

    startup_timeout: float = 180.0  # a new revision must be ready within this (plus initial delay)
    scheduling_timeout: float = 300.0  # Unschedulable this long → Failed (the original: 5 min)


@dataclass
class DeployContext:
    server: ServerContext
    box: SecretBox
    driver: DriverAdapter
    services_root: Path
    env_cache: Path
    settings: DeploySettings = field(default_factory=DeploySettings)
    # asks the reconciler for a pass now (set where the server is assembled: server/app.py)
    wake: Callable[[], None] = _nothing
    # replica restarts seen when each service was last Healthy (crash-loop detection)
    restarts_when_healthy: dict[int, int] = field(default_factory=dict)
    # services whose auth files this process has rewritten from the row since it started
    auth_synced: set[int] = field(default_factory=set)
    # notified whenever an operation of this process ends (clients long-poll on it)
    operation_ended: threading.Condition = field(default_factory=threading.Condition)
    operations_ended: int = 0  # counts them, so a wait never misses one that ended just before
    _log_lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def build(cls, server: ServerContext) -> DeployContext:
        """The deploy parts of one server: secret box, target driver (started lazily), paths."""
        home = Path(server.settings.home)
        return cls(
            server=server,
            box=SecretBox.for_home(home),
            driver=KubernetesRouting(home / "replicas", server),  # AKS/kubernetes: clusters
            services_root=home / "services",
            env_cache=server.settings.env_cache_dir,
            settings=DeploySettings(
                server.settings.startup_timeout, server.settings.scheduling_timeout
            ),
        )

    def prebuild(self, names: tuple[str, ...]) -> threading.Thread:
        """Build curated environments in the background (setting ``prebuild_environments``)."""

        def build() -> None:
            from modelport.environments.build import compile_in_background, ensure_built
            from modelport.environments.curated import get_curated

            # this thread (and the uv processes it starts) yields to requests and deploys
            with contextlib.suppress(OSError):
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
            for name in names:
                try:
                    built = ensure_built(get_curated(name), self.env_cache, _log.info)
                    # ready means compiled too: a first replica running as its service's own
                    # user would otherwise compile its imports in memory (seconds)
                    compile_in_background(built.python, _log.info)
                except Exception:  # the deploy that needs it builds it again, with its log
                    _log.exception("prebuilding the environment %s failed", name)

        thread = threading.Thread(target=build, name="modelport-prebuild", daemon=True)
        thread.start()
        return thread

    def warm_up(self) -> threading.Thread:
        """At server start, off every request's path: pick the interpreter an unpinned environment
        gets (for replicas running as their own user, a reachable twin of the server's: a probe of
        the pythons on PATH), so the first environment check of this process finds it cached."""

        def warm() -> None:
            from modelport.environments import interpreters

            try:
                shared = interpreters.for_replica_users(self.env_cache)
                interpreters.select(None, _log.debug, shared=shared)
            except Exception:  # the deploy that needs it looks again, with its log
                _log.exception("choosing the default interpreter failed")

        thread = threading.Thread(target=warm, name="modelport-warm-up", daemon=True)
        thread.start()
        return thread

    # -- operations --------------------------------------------------------------------------
    def operation_done(self) -> None:
        """An operation ended: wake the clients long-polling it (``wait_operation``)."""
        with self.operation_ended:
            self.operations_ended += 1
            self.operation_ended.notify_all()

    def wait_operation(self, workspace: str, op_id: str, seconds: float) -> None:
        """Return once the operation is terminal or ``seconds`` passed (a client's long poll).

        Woken at once when this process ends an operation; another server process (PostgreSQL,
        several servers) may drive it, so the row is also read again every quarter second.
        """
        from modelport.server.store import services as service_store

        deadline = time.monotonic() + min(seconds, MAX_OPERATION_WAIT)
        while True:
            seen = self.operations_ended
            with self.server.store.read() as s:
                if service_store.operation(s, workspace, op_id).state != service_store.RUNNING:
                    return
            left = deadline - time.monotonic()
            if left <= 0:
                return
            with self.operation_ended:
                if self.operations_ended == seen:
                    self.operation_ended.wait(min(left, 0.25))

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
        from modelport.server.store import environments as env_store

        if is_curated(name):
            return to_azure_json(get_curated(name, None if version is None else str(version)))
        return dict(env_store.azure_json_for(self.server, name, version, workspace=workspace))
