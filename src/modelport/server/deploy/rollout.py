"""Driving one operation to its end: roll a revision out (Deploy/Update/Reload) or delete.

A rollout runs the named steps of ``steps.py``; each is written to the store before it acts
(the operation's ``step``) and is idempotent, so an operation interrupted at any point (kill -9 of
the server) is finished by running it again.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from modelport.server.deploy import records, steps
from modelport.server.deploy.context import DeployContext
from modelport.server.deploy.models import resolve
from modelport.server.deploy.steps import Interrupted, Log, StepFailed
from modelport.server.store import services as service_store
from modelport.server.store.base import utcnow
from modelport.server.store.services import (
    DELETE,
    FAILED,
    HEALTHY,
    REV_FAILED,
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

__all__ = ["Interrupted", "OperationRef", "StepFailed", "finish_failure", "run_operation"]


@dataclass(frozen=True)
class OperationRef:
    """Which operation of which service a worker drives."""

    service_id: int
    op_id: str


def run_operation(deploy: DeployContext, ref: OperationRef, alive: Callable[[], bool]) -> None:
    """Drive one Running operation to its end."""
    with deploy.server.store.read() as s:
        op = s.get(Operation, ref.op_id)
        if op is None or op.state != RUNNING:
            return
        kind = op.kind
    if kind == DELETE:
        _delete(deploy, ref)
    else:
        _rollout(deploy, ref, alive)


def _rollout(deploy: DeployContext, ref: OperationRef, alive: Callable[[], bool]) -> None:
    with deploy.server.store.read() as s:
        service = s.get(Service, ref.service_id)
        op = s.get(Operation, ref.op_id)
        assert service is not None and op is not None
        number = op.target_revision or service.desired_revision
        rev = service_store.revision(s, service, number)
        assert rev is not None
        models = resolve(s, service.workspace, list(rev.models))
    log = deploy.log_writer(service.workspace, service.name)
    if rev.status == REV_READY and service.current_revision == number:
        _finish_success(deploy, ref, number, log)
        return
    if rev.status == REV_FAILED:
        finish_failure(deploy, ref, number, None, log)
        return
    log(f"{op.kind} operation {op.id}: revision {number} of service {service.name}")

    def record(step: str, **service_columns: Any) -> None:
        _record(deploy, ref, step, **service_columns)

    def pending(unschedulable: bool) -> None:
        state = UNSCHEDULABLE if unschedulable else TRANSITIONING
        record("schedule" if unschedulable else "wait", state=state, state_since=utcnow())

    try:
        plan = steps.prepare(deploy, service, rev, models, log, record)
        record("start")
        _set_revision_status(deploy, rev.id, REV_STARTING)
        steps.start_replicas(deploy, plan, log)
        record("wait")
        steps.wait_until_ready(deploy, plan, log, alive, pending)
    except StepFailed as failure:
        log(f"{failure.code}: {failure.message}")
        finish_failure(deploy, ref, number, failure, log)
        return
    _finish_success(deploy, ref, number, log)
    steps.compile_environment(plan, log)


def _record(deploy: DeployContext, ref: OperationRef, step: str, **service_columns: Any) -> None:
    """Record the step about to run (and any service columns) in one transaction."""
    with deploy.server.store.write() as s:
        op = s.get(Operation, ref.op_id)
        if op is not None:
            op.step = step
        if service_columns:
            service = s.get(Service, ref.service_id)
            if service is not None:
                for key, value in service_columns.items():
                    setattr(service, key, value)


def _set_revision_status(deploy: DeployContext, revision_id: int, status: str) -> None:
    with deploy.server.store.write() as s:
        row = s.get(Revision, revision_id)
        if row is not None:
            row.status = status


def _finish_success(deploy: DeployContext, ref: OperationRef, number: int, log: Log) -> None:
    store = deploy.server.store
    with store.write() as s:
        service = s.get(Service, ref.service_id)
        op = s.get(Operation, ref.op_id)
        assert service is not None and op is not None
        for rev in s.scalars(select(Revision).where(Revision.service_id == service.id)):
            if rev.number == number:
                rev.status = REV_READY
            elif rev.status not in (REV_FAILED, REV_RETIRED):
                rev.status = REV_RETIRED
        service.current_revision = number
        service.desired_revision = number
        service.state, service.error, service.state_since = HEALTHY, None, utcnow()
        service.scoring_uri = deploy.driver.scoring_uri(service)
        op.step = "retire"
        ws, name = service.workspace, service.name
    steps.retire_other_revisions(deploy, ws, name, keep=number)
    with store.read() as s:
        row = s.get(Service, ref.service_id)
        if row is not None and row.auth_mode == "none":
            # auth was turned off: the file goes once the replicas that enforced it are gone
            deploy.write_auth_file(ws, name, records.auth_settings(row, deploy.box), remove=True)
    _prune(deploy, ws, name, keep=number)
    with store.write() as s:
        service = s.get(Service, ref.service_id)
        op = s.get(Operation, ref.op_id)
        assert service is not None and op is not None
        op.state, op.end_time, op.step = SUCCEEDED, utcnow(), None
        service_store.sync_usages(s, service)
    deploy.operation_done()
    log(f"Service {name} is Healthy on revision {number}; operation Succeeded.")


def finish_failure(
    deploy: DeployContext,
    ref: OperationRef,
    number: int,
    failure: StepFailed | None,
    log: Log,
) -> None:
    store = deploy.server.store
    with store.write() as s:
        service = s.get(Service, ref.service_id)
        op = s.get(Operation, ref.op_id)
        assert service is not None and op is not None
        rev = service_store.revision(s, service, number)
        if rev is not None:
            rev.status = REV_FAILED
        if failure is not None:
            op.error = failure.as_json()
        op.step = "rollback"
        ws, name = service.workspace, service.name
    # The failed revision's replicas go; the serving one (if any) is left alone.
    serving_ready = False
    try:
        deploy.driver.retire(ws, name, number)
        with store.read() as s:
            service = s.get(Service, ref.service_id)
            current = service.current_revision if service is not None else None
        if current is not None and current != number:
            serving_ready = deploy.driver.observe(ws, name, current).ready
    except Exception as exc:  # the failure must be recorded even when the driver is broken
        log(f"Stopping revision {number} failed: {exc!r}")
    with store.write() as s:
        service = s.get(Service, ref.service_id)
        op = s.get(Operation, ref.op_id)
        assert service is not None and op is not None
        error = op.error or {"code": "Failed", "message": "deployment failed", "details": []}
        if service.current_revision is not None and service.current_revision != number:
            service.desired_revision = service.current_revision
            serving = service_store.revision(s, service, service.current_revision)
            if serving is not None:  # the document shows what serves (sslEnabled, cname, …)
                service.deployment_config = dict(serving.deployment_config or {})
            service.state = HEALTHY if serving_ready else UNHEALTHY
            service.error = None
            log(f"Revision {number} failed; revision {service.current_revision} keeps serving.")
        else:
            service.state, service.error = FAILED, error
        service.state_since = utcnow()
        op.state, op.end_time, op.step, op.error = FAILED, utcnow(), None, error
        service_store.sync_usages(s, service)
    deploy.operation_done()


def _prune(deploy: DeployContext, ws: str, name: str, keep: int) -> None:
    """Remove app roots of revisions that no longer run (the newest two stay for diagnosis)."""
    base = deploy.service_dir(ws, name)
    for child in sorted(base.glob("rev-*")):
        try:
            n = int(child.name.split("-", 1)[1].split(".")[0])
        except ValueError:
            continue
        if n < keep - 1:
            shutil.rmtree(child, ignore_errors=True)


def _delete(deploy: DeployContext, ref: OperationRef) -> None:
    store = deploy.server.store
    with store.read() as s:
        service = s.get(Service, ref.service_id)
        ws, name = (service.workspace, service.name) if service is not None else ("", "")
    _record(deploy, ref, "stop")
    if service is not None:
        deploy.driver.delete(ws, name)
        shutil.rmtree(deploy.service_dir(ws, name), ignore_errors=True)
    with store.write() as s:
        service = s.get(Service, ref.service_id)
        if service is not None:
            service_store.forget_usages(s, service.workspace, service.name)
            s.delete(service)
        op = s.get(Operation, ref.op_id)
        if op is not None:
            op.state, op.end_time, op.step = SUCCEEDED, utcnow(), None
    deploy.operation_done()
