"""The named steps of putting a revision into service, shared by every path that does it.

A deploy, an update and a reload (``rollout.py``) and a supervised restart (``supervise.py``)
run the same steps in this order::

    lay_out_app_root → ensure_environment → write_auth_and_tls → plan_replicas   (= prepare)
    → start_replicas → wait_until_ready → retire_other_revisions                  (rollout only)

Each step is idempotent. ``record(step)`` tells an operation which step is about to run (its
``step`` column, for logs and for resuming after a crash); a restart has no operation and passes
nothing. A step that fails raises ``StepFailed`` with a typed cause (docs/deploy.md's codes).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelport.environments.build import BuiltEnvironment, compile_in_background, ensure_built
from modelport.environments.curated import is_curated
from modelport.environments.spec import EnvironmentSpec, from_azure_json
from modelport.errors import ModelportError
from modelport.server.deploy import approot, nocode, records, tls
from modelport.server.deploy.context import DeployContext
from modelport.server.deploy.driver import Observation, ReplicaPlan
from modelport.server.deploy.models import ModelInfo
from modelport.server.deploy.revision_plan import CURATED_FOR
from modelport.server.observe.ingest import replica_env
from modelport.server.security import envsecrets
from modelport.server.store import environments as env_store
from modelport.server.store.services import REV_PENDING, REV_PREPARED, Revision, Service

Log = Callable[[str], None]
Record = Callable[[str], None]
# The driver wakes the wait when a replica says it is ready (and on each supervision pass), so
# Healthy follows readiness at once; WAIT_S only bounds how late a stop is noticed.
WAIT_S = 0.5


def _nothing(_step: str) -> None:
    """``record`` of a restart: no operation to tell."""


class StepFailed(Exception):
    """A rollout step failed with a typed cause (docs/deploy.md's error codes)."""

    def __init__(self, code: str, message: str, details: list[str] | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.details = code, message, details or []

    def as_json(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": self.details[-50:]}


class Interrupted(BaseException):
    """The server is stopping: leave the operation Running for the next start to resume."""


@dataclass(frozen=True)
class AppRoot:
    folder: Path  # the app root replicas run in
    revision_folder: Path  # its parent, which also holds the revision's TLS files
    entry_script: str


@dataclass(frozen=True)
class Secrets:
    auth_file: str | None
    tls_cert: str | None
    tls_key: str | None
    port: int


def prepare(
    deploy: DeployContext,
    service: Service,
    rev: Revision,
    models: list[ModelInfo],
    log: Log,
    record: Record = _nothing,
) -> ReplicaPlan:
    """Everything before starting replicas: app root, environment, auth/TLS files, the plan."""
    record("layout")
    app = lay_out_app_root(deploy, service, rev, models, log)
    record("environment")
    spec, built = ensure_environment(deploy, service, rev, log)
    record("auth")
    secrets = write_auth_and_tls(deploy, service, rev, app, log)
    return plan_replicas(deploy, service, rev, models, app, spec, built, secrets)


def lay_out_app_root(
    deploy: DeployContext, service: Service, rev: Revision, models: list[ModelInfo], log: Log
) -> AppRoot:
    """The revision's source files, models and generated entry script under ``rev-N/app``."""
    generated: dict[str, str] = {}
    entry = (rev.inference_config or {}).get("entryScript")
    if rev.no_code:
        plan = nocode.plan_no_code([m.as_json() for m in models], CURATED_FOR)
        generated[nocode.SCRIPT_NAME] = plan.script
        entry = nocode.SCRIPT_NAME
        log(f"No-code deployment of a {plan.framework} model with a built-in entry script.")
    rev_dir = approot.revision_dir(
        deploy.services_root, service.workspace, service.name, rev.number
    )
    try:
        app_dir = approot.lay_out(
            rev_dir / "app",
            [m.as_layout() for m in models],
            [approot.FileEntry(f["path"], f["sha256"], f.get("size", 0)) for f in rev.source_files],
            deploy.server.artifacts.path,
            generated,
        )
    except ModelportError as exc:
        raise StepFailed("InvalidConfiguration", str(exc)) from None
    except OSError as exc:  # e.g. disk full: the deployment fails with the reason, no traceback
        raise StepFailed("InternalError", f"laying out the app root failed: {exc}") from None
    log(
        f"App root ready: {app_dir} ({len(models)} model(s), {len(rev.source_files)} source file(s))."
    )
    return AppRoot(app_dir, rev_dir, str(entry))


def ensure_environment(
    deploy: DeployContext, service: Service, rev: Revision, log: Log
) -> tuple[EnvironmentSpec, BuiltEnvironment]:
    """Build the revision's environment, or reuse the cached build; the lock goes to the row."""
    ws = service.workspace
    env_doc = envsecrets.unseal(rev.environment or {"name": "AzureML-Minimal"}, deploy.box)
    spec = from_azure_json(env_doc)
    log(f"Environment {spec.name}: resolving and building (or reusing) it.")
    registered = registered_lock(deploy, ws, spec.name, spec.version)
    try:
        built = ensure_built(spec, deploy.env_cache, log, lock=rev.environment_lock or registered)
    except ModelportError as exc:
        raise StepFailed("EnvironmentBuildFailed", str(exc), _tail(deploy, service)) from None
    except Exception as exc:  # a spec the parser let through but the builder cannot use
        message = f"the environment could not be built: {type(exc).__name__}: {exc}"
        raise StepFailed("EnvironmentBuildFailed", message, _tail(deploy, service)) from None
    if registered is None and not is_curated(spec.name) and spec.version is not None:
        # an inline environment JSON that was never registered has no row to record it on
        with contextlib.suppress(ModelportError):
            env_store.record_lock(deploy.server, spec.name, spec.version, built.lock, workspace=ws)
    with deploy.server.store.write() as s:
        row = s.get(Revision, rev.id)
        if row is not None:
            row.environment_key, row.environment_lock = built.key, built.lock
            if row.status == REV_PENDING:
                row.status = REV_PREPARED
    return spec, built


def write_auth_and_tls(
    deploy: DeployContext, service: Service, rev: Revision, app: AppRoot, log: Log
) -> Secrets:
    """The auth file from the service row (the truth) and the revision's TLS files (0600)."""
    with deploy.server.store.read() as s:
        row = s.get(Service, service.id)
        assert row is not None
        settings = records.auth_settings(row, deploy.box)
        port = int(row.port or 0)
    auth_file = deploy.write_auth_file(service.workspace, service.name, settings)
    cert = key = None
    if rev.tls_cert and rev.tls_key_enc:
        # the key is decrypted only into this 0600 file, never into a log line
        cert, key = tls.write_files(
            app.revision_folder / "tls", rev.tls_cert, deploy.box.decrypt(rev.tls_key_enc)
        )
        log(f"TLS certificate and key written for revision {rev.number} (HTTPS).")
    return Secrets(None if auth_file is None else str(auth_file), cert, key, port)


def plan_replicas(
    deploy: DeployContext,
    service: Service,
    rev: Revision,
    models: list[ModelInfo],
    app: AppRoot,
    spec: EnvironmentSpec,
    built: BuiltEnvironment,
    secrets: Secrets,
) -> ReplicaPlan:
    """What the target runs: interpreter, app root, entry script, variables, config, files."""
    ws, name = service.workspace, service.name
    model_dir = str(app.folder / approot.model_dir_env(m.as_layout() for m in models))
    env_vars = {
        **spec.environment_variables,
        "AML_APP_ROOT": str(app.folder),
        "AZUREML_SOURCE_DIRECTORY": str(app.folder),
        "AZUREML_MODEL_DIR": model_dir,
        "MODELPORT_MODEL_DIR": model_dir,
        "AZUREML_ENTRY_SCRIPT": app.entry_script,
        # appInsightsEnabled / dataCollection: the v1 switches and where replicas report to
        **replica_env(
            deploy.server, ws, name, dict(rev.deployment_config or {}), [m.id for m in models]
        ),
    }
    return ReplicaPlan(
        workspace=ws,
        service=name,
        revision=rev.number,
        python=str(built.python),
        app_root=str(app.folder),
        entry_script=app.entry_script,
        port=secrets.port,
        env=env_vars,
        config=dict(rev.deployment_config or {}),
        auth_file=secrets.auth_file,
        tls_cert=secrets.tls_cert,
        tls_key=secrets.tls_key,
    )


def start_replicas(deploy: DeployContext, plan: ReplicaPlan, log: Log) -> None:
    log(f"Starting {plan.replicas} replica(s) of revision {plan.revision} on port {plan.port}.")
    try:
        deploy.driver.apply(plan)
    except ModelportError as exc:
        raise StepFailed("CrashedAtStart", str(exc)) from None


def wait_until_ready(
    deploy: DeployContext,
    plan: ReplicaPlan,
    log: Log,
    alive: Callable[[], bool],
    pending: Callable[[bool], None],
) -> None:
    """Poll the target until the revision is ready; a failure cause or the timeout fails it.

    ``pending(True)`` when the revision turns Unschedulable, ``pending(False)`` when it leaves it.
    """
    startup, scheduling = deploy.settings.startup_timeout, deploy.settings.scheduling_timeout
    deadline = time.monotonic() + startup + plan.initial_delay
    pending_since: float | None = None
    while True:
        obs: Observation = deploy.driver.observe(plan.workspace, plan.service, plan.revision)
        if obs.ready:
            if pending_since is not None:
                pending(False)
            log(f"Revision {plan.revision}: {obs.ready_count} replica(s) ready.")
            return
        if obs.failure is not None:
            raise StepFailed(obs.failure, obs.message or obs.failure, obs.log_lines)
        now = time.monotonic()
        if obs.pending == "Unschedulable":
            if pending_since is None:
                # Unschedulable while the machine lacks the cpu/memory; Failed after the timeout.
                pending_since = now
                log(f"Unschedulable: {obs.message}")
                pending(True)
            if now - pending_since > scheduling:
                raise StepFailed(
                    "Unschedulable",
                    "Couldn't schedule the service because this machine didn't have the "
                    f"resources after trying for {scheduling:g} s: {obs.message}",
                    obs.log_lines,
                )
            deadline = now + startup + plan.initial_delay
        elif now > deadline:
            raise StepFailed(
                "Timeout",
                f"Revision {plan.revision} did not become ready within "
                f"{startup + plan.initial_delay:.0f} s",
                obs.log_lines,
            )
        if not alive():
            raise Interrupted()
        deploy.driver.wait_change(WAIT_S)


def compile_environment(plan: ReplicaPlan, log: Log) -> None:
    """Once the revision serves: the environment's bytecode, compiled in the background (replicas
    running as their service's own user cannot write it; see ``compile_in_background``)."""
    compile_in_background(Path(plan.python), log)


def retire_other_revisions(deploy: DeployContext, ws: str, name: str, keep: int) -> None:
    """Old revisions drain only once the new one serves (zero-downtime update)."""
    deploy.driver.retire_others(ws, name, keep=keep)


def registered_lock(deploy: DeployContext, ws: str, name: str, version: str | None) -> str | None:
    """The lock stored with a registered environment version (reproduces its earlier build)."""
    if is_curated(name) or version is None:
        return None
    try:
        return env_store.spec_for(deploy.server, name, version, workspace=ws)[1]
    except ModelportError:
        return None  # an inline environment JSON that was never registered


def _tail(deploy: DeployContext, service: Service, n: int = 40) -> list[str]:
    path = deploy.service_dir(service.workspace, service.name) / "deploy.log"
    try:
        return path.read_text(encoding="utf-8", errors="replace").splitlines()[-n:]
    except FileNotFoundError:
        return []
