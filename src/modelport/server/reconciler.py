"""The reconciler: a background loop in every server process that drives services to their desired
state. It is the only writer of service state (docs/deploy.md, DESIGN.md).

Work is claimed through the database: each service row carries a lease (owner, until). A process
claims services whose lease is free, expired, or held by a dead process on this host, renews its
own leases on every pass, and on PostgreSQL takes the rows with ``FOR UPDATE SKIP LOCKED`` so
several server processes never drive the same service at once.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select

from modelport.server.deploy import rollout, supervise
from modelport.server.deploy.context import DeployContext
from modelport.server.deploy.rollout import OperationRef
from modelport.server.store.base import utcnow
from modelport.server.store.services import RUNNING, Operation, Service

LEASE_SECONDS = 15.0
_log = logging.getLogger("modelport.reconciler")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Reconciler:
    def __init__(self, deploy: DeployContext, interval: float = 1.0) -> None:
        self.deploy = deploy
        self.interval = interval  # seconds between passes (server setting reconcile_interval)
        self.host = socket.gethostname()
        self.owner = f"{self.host}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._workers: dict[int, threading.Thread] = {}

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="modelport-reconciler", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        for worker in list(self._workers.values()):
            worker.join(timeout)
        self._release()

    def wake(self) -> None:
        self._wake.set()

    def alive(self) -> bool:
        return not self._stop.is_set()

    # -- the loop ------------------------------------------------------------------------------
    def _run(self) -> None:
        self.deploy.warm_up()
        try:
            # Re-attach to replicas that outlived the previous server process (the recorded ones
            # only: the sweep for unrecorded strays runs on a thread of its own).
            self.deploy.driver.adopt()
        except Exception:
            _log.exception("adopting running replicas failed")
        while not self._stop.is_set():
            try:
                self.reconcile_once()
            except Exception:
                _log.exception("reconcile pass failed")
            self._wake.wait(self.interval)
            self._wake.clear()

    def reconcile_once(self) -> None:
        for service_id in self._claim():
            worker = self._workers.get(service_id)
            if worker is not None and worker.is_alive():
                continue
            self._workers.pop(service_id, None)
            op_id = self._running_operation(service_id)
            if op_id is not None:
                self._spawn(
                    service_id, f"op-{op_id[:8]}", self._operation(OperationRef(service_id, op_id))
                )
                continue
            try:
                number = supervise.supervise(self.deploy, service_id)
            except Exception:
                _log.exception("supervising service %s failed", service_id)
                continue
            if number is not None:  # may rebuild an environment: never on this thread
                self._spawn(service_id, f"restart-{service_id}", self._restart(service_id, number))

    def _spawn(self, service_id: int, name: str, work: Callable[[], None]) -> None:
        """Run slow work for one service on a worker; the loop skips the service meanwhile."""

        def run() -> None:
            try:
                work()
            finally:
                self._wake.set()

        thread = threading.Thread(target=run, name=f"modelport-{name}", daemon=True)
        self._workers[service_id] = thread
        thread.start()

    def _operation(self, ref: OperationRef) -> Callable[[], None]:
        def work() -> None:
            try:
                rollout.run_operation(self.deploy, ref, self.alive)
            except rollout.Interrupted:
                pass
            except Exception:
                _log.exception("operation %s failed unexpectedly", ref.op_id)
                self._fail(ref)

        return work

    def _restart(self, service_id: int, number: int) -> Callable[[], None]:
        def work() -> None:
            try:
                supervise.restart(self.deploy, service_id, number)
            except Exception:
                _log.exception("restarting service %s failed", service_id)

        return work

    def _fail(self, ref: OperationRef) -> None:
        """A bug in a step must not leave the operation Running for ever (and the service 409)."""
        failure = rollout.StepFailed(
            "InternalError", "the deployment failed inside the server; see the server log"
        )
        try:
            rollout.finish_failure(self.deploy, ref, self._target(ref), failure, lambda _l: None)
        except Exception:
            _log.exception("recording the failure of operation %s failed", ref.op_id)

    def _target(self, ref: OperationRef) -> int:
        with self.deploy.server.store.read() as s:
            op = s.get(Operation, ref.op_id)
            return int(op.target_revision or 0) if op is not None else 0

    # -- database work ---------------------------------------------------------------------------
    def _running_operation(self, service_id: int) -> str | None:
        with self.deploy.server.store.read() as s:
            service = s.get(Service, service_id)
            if service is None:
                return None
            op = s.scalar(
                select(Operation.id).where(
                    Operation.workspace == service.workspace,
                    Operation.service_name == service.name,
                    Operation.state == RUNNING,
                )
            )
            return op

    def _claim(self) -> list[int]:
        """Claim free or expired leases, renew ours; returns the ids this process drives now."""
        now = utcnow()
        renew_before = now + timedelta(seconds=LEASE_SECONDS / 2)
        with self.deploy.server.store.read() as s:
            rows = s.execute(select(Service.id, Service.lease_owner, Service.lease_until)).all()
        wanted = [i for i, owner, until in rows if self._claimable(owner, until, now)]
        # Write only when a lease must be taken or is getting old: no write lock taken every pass.
        stale = [
            i
            for i, owner, until in rows
            if i in wanted and (owner != self.owner or until is None or until < renew_before)
        ]
        if not stale:
            return wanted
        mine: list[int] = []
        with self.deploy.server.store.write() as s:
            locked = s.execute(
                select(Service.id, Service.lease_owner, Service.lease_until)
                .where(Service.id.in_(wanted))
                .with_for_update(skip_locked=True)
            ).all()
            mine = [i for i, owner, until in locked if self._claimable(owner, until, utcnow())]
            until = utcnow() + timedelta(seconds=LEASE_SECONDS)
            for service in s.scalars(select(Service).where(Service.id.in_(mine))):
                service.lease_owner, service.lease_until = self.owner, until
        return mine

    def _claimable(self, owner: str | None, until: datetime | None, now: datetime) -> bool:
        if owner == self.owner or owner is None or until is None or until < now:
            return True
        return self._dead(owner)

    def _dead(self, owner: str) -> bool:
        host, _, rest = owner.partition(":")
        pid = rest.partition(":")[0]
        return host == self.host and pid.isdigit() and not _pid_alive(int(pid))

    def _release(self) -> None:
        try:
            with self.deploy.server.store.write() as s:
                for service in s.scalars(select(Service).where(Service.lease_owner == self.owner)):
                    service.lease_owner, service.lease_until = None, None
        except Exception:
            _log.exception("releasing leases failed")
