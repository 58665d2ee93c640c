"""The Ray engine: the same driver loop as the local engine, with Ray actors as the workers.

Why actors and not Ray Data: an actor is a worker process that runs ``init()`` once in
``setup()`` and then ``run()`` per mini-batch, exactly v1's contract, while the driver keeps what
v1 defines per mini-batch (timeout, retries, the error threshold) and the journal that makes a
run resumable; the rows and their order are the local engine's. Ray Data's ``map_batches`` with
an actor pool also calls a constructor once per actor, but re-batches rows by its own rules and
retries and fails a whole dataset, which matches neither v1's mini-batches nor ``--resume``.
Inputs are read by path on the node that runs the actor: on a multi-node cluster they must be on
a shared file system (the same holds for the worker logs).
"""

from __future__ import annotations

import logging
import os
import time
from collections import deque
from typing import Any

from modelport.errors import UserError
from modelport.parallel_run import worker as worker_module
from modelport.parallel_run.environment import python_on_this_node
from modelport.parallel_run.local import LocalEngine, Summary, _State, _Worker
from modelport.parallel_run.process import WorkerProcess


class _Actor:
    """One Ray worker: ``setup()`` loads the script and calls init(); ``run()`` one mini-batch.

    With an environment, the script runs in a child process of that environment's interpreter
    (the local engine's worker, over the same socket protocol) and the actor only relays: the
    Ray worker's own Python must stay the cluster's (it runs Ray itself, which a service's
    environment does not have). Why not ``runtime_env``: ``py_executable`` needs Ray inside the
    environment, and ``pip``/``uv`` resolve again on each node with Ray's rules, so the packages
    could differ from the service's; here every node runs the same builder on the same lock.
    """

    def __init__(self, worker_id: int, spec: worker_module.WorkerSpec) -> None:
        self.worker_id = worker_id
        self.spec = spec
        self.script: Any = None
        self.child: WorkerProcess | None = None

    def setup(self) -> tuple[Any, ...]:
        import dataclasses
        import traceback

        try:
            if self.spec.python is None:
                self.script = worker_module.prepare(self.worker_id, self.spec)
                return ("ready", os.getpid())
            env = self.spec.environment or {}
            python = python_on_this_node(self.spec.python, env.get("document"), env.get("lock"))
            spec = dataclasses.replace(self.spec, python=python)
            self.child = WorkerProcess(self.worker_id, spec)
            message: tuple[Any, ...] = self.child.conn.recv()
            return message
        except BaseException:
            return ("init_failed", traceback.format_exc())

    def run(self, message: dict[str, Any]) -> tuple[Any, ...]:
        if self.child is None:
            return worker_module.run_one(self.script, message, self.spec.parts_dir)
        self.child.conn.send(message)
        reply: tuple[Any, ...] = self.child.conn.recv()  # EOFError: the child died; a RayError
        return reply


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise UserError("the Ray engine needs Ray: pip install 'modelport[batch]'") from None
    return ray


log = logging.getLogger(__name__)

# A ray:// address: the cluster's client server starts a server process of its own for each
# client, and that start fails now and then ("Starting Ray client server failed", its log empty;
# 2 full test runs in 5 on a busy 2-core host). A new connection gets a new one.
_CLIENT_SERVER_FAILED = "Starting Ray client server failed"
_CONNECT_TRIES = 3


def _connect(ray: Any, address: str) -> None:
    for attempt in range(1, _CONNECT_TRIES + 1):
        try:
            ray.init(address=address, log_to_driver=False)
            return
        except ConnectionError as exc:  # ConnectionAbortedError from Ray's client
            if _CLIENT_SERVER_FAILED not in str(exc) or attempt == _CONNECT_TRIES:
                raise
            ray.shutdown()  # whatever the failed connect left behind
            log.warning(
                "Ray's client server at %s failed to start (try %d); again", address, attempt
            )


class RayEngine(LocalEngine):
    """Runs a plan on ``node_count * process_count_per_node`` Ray actors."""

    name = "ray"
    address: str | None = None

    def worker_count(self) -> int:
        return (self.config.process_count_per_node or 1) * self.config.node_count

    def _start_worker(self) -> _Worker:
        ray = _ray()
        if not ray.is_initialized():
            if self.address is None:  # a Ray of our own: loopback only, no usage report
                os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
                ray.init(_node_ip_address="127.0.0.1", include_dashboard=False, log_to_driver=False)
            else:
                _connect(ray, self.address)
        remote = ray.remote(num_cpus=0.5, max_restarts=0)(_Actor)
        actor = remote.remote(self._next_id, self.spec)
        # conn: the calls sent to the actor, oldest first (Ray runs them in this order)
        w = _Worker(self._next_id, actor, deque([actor.setup.remote()]))
        self._next_id += 1
        self.workers.append(w)
        return w

    def _retire(self, w: _Worker) -> None:
        _ray().kill(w.process, no_restart=True)
        self.workers.remove(w)

    def _shutdown(self) -> None:
        for w in list(self.workers):
            self._retire(w)

    def _send(self, w: _Worker, message: dict[str, Any]) -> None:
        w.conn.append(w.process.run.remote(message))

    def _step(self, state: _State, summary: Summary) -> None:
        ray = _ray()
        timeout = float(self.config.run_invocation_timeout)
        now = time.monotonic()
        deadlines = [w.started + timeout - now for w in self.workers if w.batch is not None]
        wait_s = max(0.0, min(deadlines, default=1.0))
        by_ref = {w.conn[0]: w for w in self.workers if w.conn}
        ready, _ = ray.wait(list(by_ref), num_returns=1, timeout=wait_s)
        for ref in ready:
            w = by_ref[ref]
            w.conn.popleft()
            try:
                message = ray.get(ref)
            except ray.exceptions.RayError as e:  # the actor died (killed, out of memory)
                self._replace(w, state, summary, f"worker {w.id} died: {type(e).__name__}")
                continue
            self._on_message(w, message, state, summary)
        now = time.monotonic()
        for w in list(self.workers):
            if w.batch is not None and now - w.started > timeout:
                self._replace(
                    w, state, summary, f"run() took longer than run_invocation_timeout={timeout:g}s"
                )
