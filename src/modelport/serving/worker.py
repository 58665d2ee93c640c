"""One server process: listen, load the entry script and run init(), serve, drain on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

from modelport import compat
from modelport.serving import entry_script as es
from modelport.serving.admission import Admission
from modelport.serving.app import App, State
from modelport.serving.batching import Batcher
from modelport.serving.busypoll import BusyPoll
from modelport.serving.connguard import ConnectionPool, effective_cap
from modelport.serving.logs import INIT_REQUEST_ID, REQUEST_ID, log
from modelport.serving.metrics import Metrics
from modelport.serving.process import EXIT_INIT, EXIT_OK, tls_context
from modelport.serving.protocol import HttpProtocol, ServerState
from modelport.serving.runner import Runner
from modelport.serving.swagger import SwaggerDocs

HEALTH_CONNECTIONS = 64


def allowed_hosts(text: str | None) -> frozenset[str] | None:
    if not text:
        return None
    return frozenset(h.strip().lower().strip("[]") for h in text.split(",") if h.strip())


def prepare_paths(settings: Any) -> tuple[str, str]:
    """Working directory, sys.path and AZUREML_* variables as the original sets them (spec 3.5, 8)."""
    app_root = os.path.abspath(settings.app_root or os.getcwd())
    path = es.locate(settings.entry_script, settings.source_dir, app_root)
    source_dir = (
        os.path.abspath(settings.source_dir) if settings.source_dir else os.path.dirname(path)
    )
    for p in (source_dir, app_root):
        if p not in sys.path:
            sys.path.insert(0, p)
    os.environ["AML_APP_ROOT"] = app_root
    os.environ["AZUREML_ENTRY_SCRIPT"] = path
    os.environ["AZUREML_SOURCE_DIRECTORY"] = source_dir
    if settings.model_dir:
        # as given, like azmlinfsrv: a relative path stays relative while the working directory
        # (the app root) is the one it was given in
        same_dir = os.path.abspath(os.getcwd()) == app_root
        model_dir = settings.model_dir
        os.environ["AZUREML_MODEL_DIR"] = model_dir if same_dir else os.path.abspath(model_dir)
    os.chdir(app_root)
    return path, source_dir


def load_and_init(path: str) -> es.EntryScript:
    """Runs in a thread: import the script, call a plain init(); print lines get the init request id."""
    REQUEST_ID.set(INIT_REQUEST_ID)
    script = es.load(path)
    if not script.init_is_async:
        script.init()
    return script


def tell_supervisor_ready() -> None:
    """Ready and listening: one byte on the pipe the local target's supervisor waits on (the fd in
    MODELPORT_READY_FD), so a deploy turns Healthy without waiting for a readiness probe."""
    fd = os.environ.pop("MODELPORT_READY_FD", "")
    if fd.isdigit():
        try:
            os.write(int(fd), b"R")
            os.close(int(fd))
        except OSError:
            pass  # not a pipe from a supervisor: the readiness probes still find it ready


class Worker:
    def __init__(self, settings: Any, auth: Any = None) -> None:
        self.s = settings
        self.auth = auth
        self.metrics = Metrics()
        self.state = State()
        self.admission = Admission(settings.max_concurrent_requests, settings.max_queue_wait_ms / 1000,
                                   settings.max_queue_length, self.metrics)  # fmt: skip
        self.server_state = ServerState(settings.keep_alive, settings.body_timeout)
        # one cap per listener: a flood on the shared port never starves the driver's probes
        self.main_pool = ConnectionPool(effective_cap(settings.max_connections))
        self.health_pool = ConnectionPool(HEALTH_CONNECTIONS)
        self.servers: list[asyncio.AbstractServer] = []  # the shared port's listeners
        self.health_server: asyncio.AbstractServer | None = None
        self.stop = asyncio.Event()

    def _factory(
        self, app: App, pool: ConnectionPool, hosts: frozenset[str] | None = None
    ) -> Callable[[], HttpProtocol]:
        loop = asyncio.get_running_loop()
        return lambda: HttpProtocol(app, self.server_state, loop, pool, hosts)

    async def serve(self, main_sock: socket.socket, health_sock: socket.socket | None) -> int:
        loop = asyncio.get_running_loop()
        ssl_ctx = tls_context(self.s.tls_cert, self.s.tls_key)
        if self.s.busy_poll_us > 0:
            self.server_state.busy_poll = BusyPoll(loop, self.s.busy_poll_us / 1e6)
            self.metrics.busy_poll = self.server_state.busy_poll
        main_factory = self._factory(
            App(self.s, self.state, self.metrics, self.admission, self.auth),
            self.main_pool,
            allowed_hosts(self.s.allowed_hosts),
        )
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop.set)
        deferred = main_sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN) == 0
        if health_sock is not None:
            health_app = App(self.s, self.state, self.metrics, self.admission, None, role="health")
            # kept open while draining, so the driver sees 503 Draining there
            self.health_server = await loop.create_server(
                self._factory(health_app, self.health_pool), sock=health_sock, backlog=256
            )
        if not deferred:
            self.servers.append(
                await loop.create_server(main_factory, sock=main_sock, ssl=ssl_ctx, backlog=2048)
            )
        host, port = main_sock.getsockname()[:2]
        if deferred:
            log.info(
                "pid %d bound %s:%d; it listens once init() has finished", os.getpid(), host, port
            )
        else:
            log.info("pid %d listening on %s:%d", os.getpid(), host, port)
        code = await self._start_script(loop)
        if code != EXIT_OK:
            return code
        if deferred and not self.stop.is_set():
            main_sock.listen(2048)
            self.servers.append(
                await loop.create_server(main_factory, sock=main_sock, ssl=ssl_ctx, backlog=2048)
            )
            log.info("pid %d listening on %s:%d", os.getpid(), host, port)
        tell_supervisor_ready()
        await self.stop.wait()
        return await self.drain()

    async def _start_script(self, loop: asyncio.AbstractEventLoop) -> int:
        t0 = time.perf_counter()
        try:
            path, source_dir = prepare_paths(self.s)
            compat.install(front=os.environ.get("MODELPORT_COMPAT_SHIMS") == "force")
            init_task: asyncio.Future[es.EntryScript] = loop.run_in_executor(
                None, load_and_init, path
            )
            stop_task: asyncio.Future[Any] = asyncio.ensure_future(self.stop.wait())
            done, _ = await asyncio.wait(
                [init_task, stop_task], return_when=asyncio.FIRST_COMPLETED
            )
            if init_task not in done:
                log.info("stopped before init() finished")
                os._exit(EXIT_OK)  # the init thread cannot be interrupted
            stop_task.cancel()
            script = init_task.result()
            if script.init_is_async:
                REQUEST_ID.set(INIT_REQUEST_ID)
                await script.init()
                REQUEST_ID.set(None)
        except es.EntryScriptError as exc:
            log.error("entry script failed to load: %s", exc)
            return EXIT_INIT
        except BaseException:
            log.error("init() failed:\n%s\nModel directory %s:\n%s", traceback.format_exc().rstrip(),
                      os.environ.get("AZUREML_MODEL_DIR", ""), es.dir_tree(os.environ.get("AZUREML_MODEL_DIR")))  # fmt: skip
            return EXIT_INIT
        self._wire(script, [source_dir, os.getcwd()])
        self.state.ready = True
        self.metrics.ready = 1
        log.info("init() finished in %.3f s; %s run(), input mode %s%s", time.perf_counter() - t0,
                 "async" if script.is_async else "thread-pool", script.mode,
                 f", batching {script.batch[0]} / {script.batch[1] * 1000:g} ms" if script.batch else "")  # fmt: skip
        return EXIT_OK

    def _wire(self, script: es.EntryScript, dirs: list[str]) -> None:
        s = self.s
        self.state.script = script
        self.state.swagger = SwaggerDocs(
            script, dirs, s.service_name, s.service_version, s.service_path_prefix
        )
        # unbatched, the run threads are the concurrency slots; batched, they run whole batches
        threads = s.threads if script.batch else s.max_concurrent_requests
        runner = Runner(script.run, script.is_async, threads, s.scoring_timeout_ms, self.admission.release,
                        self.metrics.run_time.observe, 0.0 if script.batch else s.inline_run_budget_ms)  # fmt: skip
        self.state.runner = runner
        self.metrics.gate = None if script.is_async or script.batch else runner.gate
        if script.batch is not None:

            async def call(values: list[Any], rids: list[str]) -> tuple[Any, float]:
                result: tuple[Any, float] = await runner.invoke(rids[0], (values,), {})
                return result

            def on_batch(size: int, reason: str) -> None:
                self.metrics.batch_size.observe(size)
                self.metrics.batches[reason] += 1

            batcher = Batcher(script.batch[0], script.batch[1], call, self.admission.acquire_unbounded,
                              self.admission.release, s.max_queue_length, s.max_queue_wait_ms / 1000, on_batch)  # fmt: skip
            batcher.start()
            self.state.batcher = batcher

    async def drain(self) -> int:
        """Stop listening, answer open connections with Connection: close for a while, finish, exit 0."""
        deadline = time.monotonic() + self.s.graceful_timeout
        log.info(
            "SIGTERM: draining (grace %.1f s, deadline %.1f s)",
            self.s.drain_grace,
            self.s.graceful_timeout,
        )
        for server in self.servers:
            server.close()
        self.state.draining = True
        grace_end = min(deadline, time.monotonic() + self.s.drain_grace)
        while time.monotonic() < grace_end and self.server_state.connections:
            await asyncio.sleep(0.05)
        for conn in list(self.server_state.connections):
            conn.shutdown()
        while (
            self.server_state.connections or self.server_state.tasks
        ) and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        left = len(self.server_state.tasks)
        if left:
            log.warning("graceful timeout: %d request(s) still running are abandoned", left)
        if self.state.runner is not None:
            self.state.runner.shutdown()
        log.info("drained; exiting")
        return EXIT_OK


def run(
    settings: Any, main_sock: socket.socket, health_sock: socket.socket | None, auth: Any = None
) -> int:
    worker = Worker(settings, auth)
    try:
        import uvloop
    except ImportError:  # pragma: no cover - Windows
        code = asyncio.run(worker.serve(main_sock, health_sock))
    else:
        code = uvloop.run(worker.serve(main_sock, health_sock))
    sys.stdout.flush()
    sys.stderr.flush()
    # threads still inside a timed-out run() must not keep the process alive
    if threading.active_count() > 1:
        os._exit(code)
    return code
