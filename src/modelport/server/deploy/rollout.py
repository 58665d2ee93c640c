"""Reconcile steps for one operation: roll a revision out (Deploy/Update/Reload) or delete.

Each step is written to the store before it acts and confirmed after, and each is idempotent, so
an operation interrupted at any point (kill -9 of the server) is finished by running it again.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from modelport.environments.build import ensure_built
from modelport.environments.spec import from_azure_json
from modelport.errors import ModelportError
from modelport.server.deploy import approot, nocode, records, tls
from modelport.server.deploy.context import DeployContext
from modelport.server.deploy.driver import Observation, ReplicaPlan
from modelport.server.deploy.models import ModelInfo, resolve
from modelport.server.deploy.requests import CURATED_FOR
from modelport.server.store.base import utcnow
from modelport.server.store.services import (
    DELETE,
    FAILED,
    HEALTHY,
    REV_FAILED,
    REV_PENDING,
    REV_PREPARED,
    REV_READY,
    REV_RETIRED,
    REV_STARTING,
    RUNNING,
    SUCCEEDED,
    TRANSITIONING,
    UNHEALTHY,
    UNSCHEDULABLE,
    Operation,
    Revision,
    Service,
)

POLL_S = 0.2


class StepFailed(Exception):
    """A rollout step failed with a typed cause (docs/deploy.md's error codes)."""

    def __init__(self, code: str, message: str, details: list[str] | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.details = code, message, details or []

    def as_json(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": self.details[-50:]}


@dataclass
class Ids:
    service_id: int
    op_id: str


def run_operation(dctx: DeployContext, ids: Ids, alive: Callable[[], bool]) -> None:
    """Drive one Running operation to its end."""
    with dctx.server.store.read() as s:
        op = s.get(Operation, ids.op_id)
        if op is None or op.state != RUNNING:
            return
        kind = op.kind
    if kind == DELETE:
        _delete(dctx, ids)
    else:
        _rollout(dctx, ids, alive)


# -- rollout ---------------------------------------------------------------------------------


def _rollout(dctx: DeployContext, ids: Ids, alive: Callable[[], bool]) -> None:
    store = dctx.server.store
    with store.read() as s:
        service = s.get(Service, ids.service_id)
        op = s.get(Operation, ids.op_id)
        assert service is not None and op is not None
        number = op.target_revision or service.desired_revision
        rev = records.revision(s, service, number)
        assert rev is not None
        ws, name = service.workspace, service.name
        models = resolve(s, ws, list(rev.models))
    log = dctx.log_writer(ws, name)
    if rev.status == REV_READY and service.current_revision == number:
        _finish_success(dctx, ids, number, log)
        return
    if rev.status == REV_FAILED:
        finish_failure(dctx, ids, number, None, log)
        return
    log(f"{op.kind} operation {op.id}: revision {number} of service {name}")
    try:
        plan = prepare(dctx, ids, service, rev, models, log)
        _start_and_wait(dctx, ids, plan, log, alive)
    except StepFailed as failure:
        log(f"{failure.code}: {failure.message}")
        finish_failure(dctx, ids, number, failure, log)
        return
    _finish_success(dctx, ids, number, log)


def _set(dctx: DeployContext, ids: Ids, step: str, **service_columns: Any) -> None:
    """Record the step about to run (and any service columns) in one transaction."""
    with dctx.server.store.write() as s:
        op = s.get(Operation, ids.op_id)
        if op is not None:
            op.step = step
        if service_columns:
            service = s.get(Service, ids.service_id)
            if service is not None:
                for key, value in service_columns.items():
                    setattr(service, key, value)


def prepare(
    dctx: DeployContext,
    ids: Ids,
    service: Service,
    rev: Revision,
    models: list[ModelInfo],
    log: Callable[[str], None],
) -> ReplicaPlan:
    ws, name, number = service.workspace, service.name, rev.number
    _set(dctx, ids, "layout")
    generated: dict[str, str] = {}
    entry = (rev.inference_config or {}).get("entryScript")
    if rev.no_code:
        plan = nocode.plan_no_code([m.as_json() for m in models], CURATED_FOR)
        generated[nocode.SCRIPT_NAME] = plan.script
        entry = nocode.SCRIPT_NAME
        log(f"No-code deployment of a {plan.framework} model with a built-in entry script.")
    rev_dir = approot.revision_dir(dctx.services_root, ws, name, number)
    try:
        app_dir = approot.lay_out(
            rev_dir / "app",
            [m.as_layout() for m in models],
            [approot.FileEntry(f["path"], f["sha256"], f.get("size", 0)) for f in rev.source_files],
            dctx.server.artifacts.path,
            generated,
        )
    except ModelportError as exc:
        raise StepFailed("InvalidConfiguration", str(exc)) from None
    except OSError as exc:  # e.g. disk full: the deployment fails with the reason, no traceback
        raise StepFailed("InternalError", f"laying out the app root failed: {exc}") from None
    log(
        f"App root ready: {app_dir} ({len(models)} model(s), {len(rev.source_files)} source file(s))."
    )

    _set(dctx, ids, "environment")
    spec = from_azure_json(rev.environment or {"name": "AzureML-Minimal"})
    log(f"Environment {spec.name}: resolving and building (or reusing) it.")
    registered = _registered_lock(dctx, ws, spec.name, spec.version)
    try:
        built = ensure_built(spec, dctx.env_cache, log, lock=rev.environment_lock or registered)
    except ModelportError as exc:
        raise StepFailed("EnvironmentBuildFailed", str(exc), _tail(dctx, ws, name)) from None
    except Exception as exc:  # a spec the parser let through but the builder cannot use
        message = f"the environment could not be built: {type(exc).__name__}: {exc}"
        raise StepFailed("EnvironmentBuildFailed", message, _tail(dctx, ws, name)) from None
    if registered is None:
        _record_lock(dctx, ws, spec.name, spec.version, built.lock)
    with dctx.server.store.write() as s:
        row = s.get(Revision, rev.id)
        if row is not None:
            row.environment_key, row.environment_lock = built.key, built.lock
            if row.status == REV_PENDING:
                row.status = REV_PREPARED

    _set(dctx, ids, "auth")
    with dctx.server.store.read() as s:
        svc = s.get(Service, ids.service_id)
        assert svc is not None
        settings = records.auth_settings(svc, dctx.box)
        port = svc.port
    auth_file = dctx.write_auth_file(ws, name, settings)
    tls_files: tuple[str | None, str | None] = (None, None)
    if rev.tls_cert and rev.tls_key_enc:
        # the key is decrypted only into this 0600 file, never into a log line
        tls_files = tls.write_files(
            rev_dir / "tls", rev.tls_cert, dctx.box.decrypt(rev.tls_key_enc)
        )
        log(f"TLS certificate and key written for revision {number} (HTTPS).")
    env_vars = {
        **spec.environment_variables,
        "AML_APP_ROOT": str(app_dir),
        "AZUREML_SOURCE_DIRECTORY": str(app_dir),
        "AZUREML_MODEL_DIR": str(app_dir / approot.model_dir_env(m.as_layout() for m in models)),
        "MODELPORT_MODEL_DIR": str(app_dir / approot.model_dir_env(m.as_layout() for m in models)),
        "AZUREML_ENTRY_SCRIPT": str(entry),
    }
    return ReplicaPlan(
        workspace=ws,
        service=name,
        revision=number,
        python=str(built.python),
        app_root=str(app_dir),
        entry_script=str(entry),
        port=int(port or 0),
        env=env_vars,
        config=dict(rev.deployment_config or {}),
        auth_file=None if auth_file is None else str(auth_file),
        tls_cert=tls_files[0],
        tls_key=tls_files[1],
    )


class Interrupted(BaseException):
    """The server is stopping: leave the operation Running for the next start to resume."""


def _start_and_wait(
    dctx: DeployContext, ids: Ids, plan: ReplicaPlan, log: Callable[[str], None], alive: Any
) -> None:
    _set(dctx, ids, "start")
    with dctx.server.store.write() as s:
        row = s.scalar(
            select(Revision).where(
                Revision.service_id == ids.service_id, Revision.number == plan.revision
            )
        )
        if row is not None:
            row.status = REV_STARTING
    log(f"Starting {plan.replicas} replica(s) of revision {plan.revision} on port {plan.port}.")
    try:
        dctx.driver.apply(plan)
    except StepFailed:
        raise
    except ModelportError as exc:
        raise StepFailed("CrashedAtStart", str(exc)) from None
    _set(dctx, ids, "wait")
    startup, scheduling = dctx.settings.startup_timeout, dctx.settings.scheduling_timeout
    deadline = time.monotonic() + startup + plan.initial_delay
    pending_since: float | None = None
    while True:
        obs: Observation = dctx.driver.observe(plan.workspace, plan.service, plan.revision)
        if obs.ready:
            if pending_since is not None:
                _set(dctx, ids, "wait", state=TRANSITIONING, state_since=utcnow())
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
                _set(dctx, ids, "schedule", state=UNSCHEDULABLE, state_since=utcnow())
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
        time.sleep(POLL_S)


def _finish_success(dctx: DeployContext, ids: Ids, number: int, log: Callable[[str], None]) -> None:
    store = dctx.server.store
    with store.write() as s:
        service = s.get(Service, ids.service_id)
        op = s.get(Operation, ids.op_id)
        assert service is not None and op is not None
        for rev in s.scalars(select(Revision).where(Revision.service_id == service.id)):
            if rev.number == number:
                rev.status = REV_READY
            elif rev.status not in (REV_FAILED, REV_RETIRED):
                rev.status = REV_RETIRED
        service.current_revision = number
        service.desired_revision = number
        service.state, service.error, service.state_since = HEALTHY, None, utcnow()
        service.scoring_uri = dctx.driver.scoring_uri(service)
        op.step = "retire"
        ws, name = service.workspace, service.name
    # Old revisions drain only now that the new one serves (zero-downtime update).
    dctx.driver.retire_others(ws, name, keep=number)
    with store.read() as s:
        row = s.get(Service, ids.service_id)
        if row is not None and row.auth_mode == "none":
            # auth was turned off: the file goes once the replicas that enforced it are gone
            dctx.write_auth_file(ws, name, records.auth_settings(row, dctx.box), remove=True)
    _prune(dctx, ws, name, keep=number)
    with store.write() as s:
        service = s.get(Service, ids.service_id)
        op = s.get(Operation, ids.op_id)
        assert service is not None and op is not None
        op.state, op.end_time, op.step = SUCCEEDED, utcnow(), None
        records.sync_usages(s, service)
    log(f"Service {name} is Healthy on revision {number}; operation Succeeded.")


def finish_failure(
    dctx: DeployContext,
    ids: Ids,
    number: int,
    failure: StepFailed | None,
    log: Callable[[str], None],
) -> None:
    store = dctx.server.store
    with store.write() as s:
        service = s.get(Service, ids.service_id)
        op = s.get(Operation, ids.op_id)
        assert service is not None and op is not None
        rev = records.revision(s, service, number)
        if rev is not None:
            rev.status = REV_FAILED
        if failure is not None:
            op.error = failure.as_json()
        op.step = "rollback"
        ws, name = service.workspace, service.name
    # The failed revision's replicas go; the serving one (if any) is left alone.
    serving_ready = False
    try:
        dctx.driver.retire(ws, name, number)
        with store.read() as s:
            service = s.get(Service, ids.service_id)
            current = service.current_revision if service is not None else None
        if current is not None and current != number:
            serving_ready = dctx.driver.observe(ws, name, current).ready
    except Exception as exc:  # the failure must be recorded even when the driver is broken
        log(f"Stopping revision {number} failed: {exc!r}")
    with store.write() as s:
        service = s.get(Service, ids.service_id)
        op = s.get(Operation, ids.op_id)
        assert service is not None and op is not None
        error = op.error or {"code": "Failed", "message": "deployment failed", "details": []}
        if service.current_revision is not None and service.current_revision != number:
            service.desired_revision = service.current_revision
            serving = records.revision(s, service, service.current_revision)
            if serving is not None:  # the document shows what serves (sslEnabled, cname, …)
                service.deployment_config = dict(serving.deployment_config or {})
            service.state = HEALTHY if serving_ready else UNHEALTHY
            service.error = None
            log(f"Revision {number} failed; revision {service.current_revision} keeps serving.")
        else:
            service.state, service.error = FAILED, error
        service.state_since = utcnow()
        op.state, op.end_time, op.step, op.error = FAILED, utcnow(), None, error
        records.sync_usages(s, service)


def _prune(dctx: DeployContext, ws: str, name: str, keep: int) -> None:
    """Remove app roots of revisions that no longer run (the newest two stay for diagnosis)."""
    base = dctx.service_dir(ws, name)
    for child in sorted(base.glob("rev-*")):
        try:
            n = int(child.name.split("-", 1)[1].split(".")[0])
        except ValueError:
            continue
        if n < keep - 1:
            shutil.rmtree(child, ignore_errors=True)


def _tail(dctx: DeployContext, ws: str, name: str, n: int = 40) -> list[str]:
    path = dctx.service_dir(ws, name) / "deploy.log"
    try:
        return path.read_text(encoding="utf-8", errors="replace").splitlines()[-n:]
    except FileNotFoundError:
        return []


# -- delete ----------------------------------------------------------------------------------


def _delete(dctx: DeployContext, ids: Ids) -> None:
    store = dctx.server.store
    with store.read() as s:
        service = s.get(Service, ids.service_id)
        if service is None:
            ws = name = ""
        else:
            ws, name = service.workspace, service.name
    _set(dctx, ids, "stop")
    if service is not None:
        dctx.driver.delete(ws, name)
        shutil.rmtree(dctx.service_dir(ws, name), ignore_errors=True)
    with store.write() as s:
        service = s.get(Service, ids.service_id)
        if service is not None:
            records.forget_usages(s, service.workspace, service.name)
            s.delete(service)
        op = s.get(Operation, ids.op_id)
        if op is not None:
            op.state, op.end_time, op.step = SUCCEEDED, utcnow(), None


def _registered_lock(dctx: DeployContext, ws: str, name: str, version: str | None) -> str | None:
    """The lock stored with a registered environment version (reproduces its earlier build)."""
    try:
        from modelport.environments.curated import is_curated
        from modelport.server.store import environments as env_store

        if is_curated(name) or version is None:
            return None
        spec_lock = env_store.spec_for(dctx.server, name, version, workspace=ws)[1]
        return spec_lock
    except (ImportError, ModelportError):
        return None  # an inline environment JSON that was never registered


def _record_lock(dctx: DeployContext, ws: str, name: str, version: str | None, lock: str) -> None:
    try:
        from modelport.environments.curated import is_curated
        from modelport.server.store import environments as env_store

        if not is_curated(name) and version is not None:
            env_store.record_lock(dctx.server, name, version, lock, workspace=ws)
    except (ImportError, ModelportError):
        pass
