"""Supervision of running services: Healthy ⇄ Unhealthy from what the driver observes, Failed
after repeated crashes (CrashLoop), and a serving revision the driver no longer runs started again.

``supervise`` runs on the reconciler's loop thread and only reads and writes rows; a restart
(which may rebuild an environment) is returned to the reconciler, which runs ``restart`` on a
worker so that leases keep being renewed in time.
"""

from __future__ import annotations

from modelport.errors import ModelportError
from modelport.server.deploy import records, steps
from modelport.server.deploy.context import DeployContext
from modelport.server.deploy.driver import Observation
from modelport.server.deploy.models import resolve
from modelport.server.deploy.steps import StepFailed
from modelport.server.store import services as service_store
from modelport.server.store.base import utcnow
from modelport.server.store.services import FAILED, HEALTHY, UNHEALTHY, Service

# A serving revision whose replicas crashed this many times since it was Healthy is Failed.
CRASH_LOOP = 3


def supervise(deploy: DeployContext, service_id: int) -> int | None:
    """Healthy ⇄ Unhealthy from what the driver sees; Failed when it gave up (crash loop).

    Returns the revision to start again when the driver runs nothing for it, else None.
    """
    with deploy.server.store.read() as s:
        service = s.get(Service, service_id)
        if service is None or service.current_revision is None:
            return None
        # Failed with a serving revision = crash loop: it may still recover under the driver
        if service.state not in (HEALTHY, UNHEALTHY, FAILED):
            return None
        ws, name, number, state = (
            service.workspace, service.name, service.current_revision, service.state,
        )  # fmt: skip
    if service_id not in deploy.auth_synced:
        # A crash between a key rotation's commit and its file write is repaired here: the row
        # is the truth, the auth files follow it.
        with deploy.server.store.read() as s:
            row = s.get(Service, service_id)
            settings = records.auth_settings(row, deploy.box) if row is not None else None
        if settings is not None:
            deploy.write_auth_file(ws, name, settings)
        deploy.auth_synced.add(service_id)
    obs = deploy.driver.observe(ws, name, number)
    restart: int | None = None
    if obs.unknown:
        # The driver has no replicas for the serving revision (e.g. after a reboot): start it again.
        deploy.log_writer(ws, name)(f"Revision {number} is not running; starting it again.")
        restart, new_state, error = number, UNHEALTHY, None
    elif state == FAILED and not obs.ready:
        return None
    elif obs.failure is not None and _crashes_since_healthy(deploy, service_id, obs) >= CRASH_LOOP:
        # the driver keeps restarting with backoff; after repeated crashes the service is Failed
        new_state, error = FAILED, _crash_loop_error(deploy, service_id, obs)
    else:
        new_state, error = (HEALTHY if obs.ready else UNHEALTHY), None
    if new_state == HEALTHY:
        deploy.restarts_when_healthy[service_id] = obs.restarts
    if new_state != state:
        _set_state(deploy, service_id, state, new_state, error, obs.message)
    return restart


def restart(deploy: DeployContext, service_id: int, number: int) -> None:
    """Start the serving revision again through the rollout's own steps (on a worker thread)."""
    with deploy.server.store.read() as s:
        service = s.get(Service, service_id)
        rev = service_store.revision(s, service, number) if service is not None else None
        models = resolve(s, service.workspace, list(rev.models)) if service and rev else []
    if service is None or rev is None:
        return
    log = deploy.log_writer(service.workspace, service.name)
    try:
        plan = steps.prepare(deploy, service, rev, models, log)
        steps.start_replicas(deploy, plan, log)
    except (StepFailed, ModelportError) as exc:
        log(f"Restart failed: {exc}")


def _set_state(
    deploy: DeployContext,
    service_id: int,
    old: str,
    new: str,
    error: dict[str, object] | None,
    message: str | None,
) -> None:
    with deploy.server.store.write() as s:
        service = s.get(Service, service_id)
        if service is None or service.state != old:
            return
        deploy.log_writer(service.workspace, service.name)(
            f"Service state {old} -> {new}" + (f": {message}" if message else "")
        )
        if service_store.running_operation(s, service) is None:
            service.state, service.error, service.state_since = new, error, utcnow()


def _crash_loop_error(
    deploy: DeployContext, service_id: int, obs: Observation
) -> dict[str, object]:
    message = obs.message or obs.failure
    if obs.failure != "CrashLoop":
        message = (
            f"the service crashed {_crashes_since_healthy(deploy, service_id, obs)} times since "
            f"it was Healthy; last: {obs.failure}: {message}"
        )
    return {"code": "CrashLoop", "message": message, "details": obs.log_lines[-50:]}


def _crashes_since_healthy(deploy: DeployContext, service_id: int, obs: Observation) -> int:
    return obs.restarts - deploy.restarts_when_healthy.setdefault(service_id, obs.restarts)
