"""Supervision of running services: Healthy ⇄ Unhealthy from what the driver observes, Failed
after repeated crashes (CrashLoop), and a serving revision the driver no longer runs started again.
"""

from __future__ import annotations

from modelport.errors import ModelportError
from modelport.server.deploy import records
from modelport.server.deploy.context import DeployContext
from modelport.server.deploy.driver import Observation
from modelport.server.deploy.models import ModelInfo, resolve
from modelport.server.deploy.rollout import Ids, StepFailed, prepare
from modelport.server.store.base import utcnow
from modelport.server.store.services import FAILED, HEALTHY, UNHEALTHY, Revision, Service

# A serving revision whose replicas crashed this many times since it was Healthy is Failed.
CRASH_LOOP = 3


def supervise(dctx: DeployContext, service_id: int) -> None:
    """Healthy ⇄ Unhealthy from what the driver sees; Failed when it gave up (crash loop)."""
    with dctx.server.store.read() as s:
        service = s.get(Service, service_id)
        if service is None or service.current_revision is None:
            return
        # Failed with a serving revision = crash loop: it may still recover under the driver
        if service.state not in (HEALTHY, UNHEALTHY, FAILED):
            return
        ws, name, number, state = (
            service.workspace, service.name, service.current_revision, service.state,
        )  # fmt: skip
    if service_id not in dctx.auth_synced:
        # A crash between a key rotation's commit and its file write is repaired here: the row
        # is the truth, the auth files follow it.
        with dctx.server.store.read() as s:
            row = s.get(Service, service_id)
            settings = records.auth_settings(row, dctx.box) if row is not None else None
        if settings is not None:
            dctx.write_auth_file(ws, name, settings)
        dctx.auth_synced.add(service_id)
    obs = dctx.driver.observe(ws, name, number)
    if obs.unknown:
        # The driver has no replicas for the serving revision (e.g. after a reboot): start it again.
        dctx.log_writer(ws, name)(f"Revision {number} is not running; starting it again.")
        with dctx.server.store.read() as s:
            service = s.get(Service, service_id)
            rev = records.revision(s, service, number) if service else None
        if service is not None and rev is not None:
            try:
                models = _models_for(dctx, service, rev)
                plan = prepare(dctx, _NoOp(service_id), service, rev, models, lambda _l: None)
                dctx.driver.apply(plan)
            except (StepFailed, ModelportError) as exc:
                dctx.log_writer(ws, name)(f"Restart failed: {exc}")
        new_state, error = UNHEALTHY, None
    elif state == FAILED and not obs.ready:
        return
    elif obs.failure is not None and _crashes_since_healthy(dctx, service_id, obs) >= CRASH_LOOP:
        # the driver keeps restarting with backoff; after repeated crashes the service is Failed
        new_state = FAILED
        message = obs.message or obs.failure
        if obs.failure != "CrashLoop":
            message = (
                f"the service crashed {_crashes_since_healthy(dctx, service_id, obs)} times since "
                f"it was Healthy; last: {obs.failure}: {message}"
            )
        error = {"code": "CrashLoop", "message": message, "details": obs.log_lines[-50:]}
    else:
        new_state, error = (HEALTHY if obs.ready else UNHEALTHY), None
    if new_state == HEALTHY:
        dctx.restarts_when_healthy[service_id] = obs.restarts
    if new_state == state:
        return
    dctx.log_writer(ws, name)(
        f"Service state {state} -> {new_state}" + (f": {obs.message}" if obs.message else "")
    )
    with dctx.server.store.write() as s:
        service = s.get(Service, service_id)
        if service is not None and service.state == state:
            running = records.running_operation(s, service)
            if running is None:
                service.state, service.error, service.state_since = new_state, error, utcnow()


def _crashes_since_healthy(dctx: DeployContext, service_id: int, obs: Observation) -> int:
    return obs.restarts - dctx.restarts_when_healthy.setdefault(service_id, obs.restarts)


def _models_for(dctx: DeployContext, service: Service, rev: Revision) -> list[ModelInfo]:
    with dctx.server.store.read() as s:
        return resolve(s, service.workspace, list(rev.models))


class _NoOp(Ids):
    def __init__(self, service_id: int) -> None:
        super().__init__(service_id, "")
