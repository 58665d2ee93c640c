"""A worker as a child process of any interpreter: ``python -m modelport.parallel_run.worker FD``.

Why a plain subprocess and not ``multiprocessing`` spawn: the worker must run in the script's own
environment (a venv built like a service's, whose interpreter is not the driver's), and spawn
re-imports the driver's ``__main__`` in the child (a CLI or a v1 driver script that the
environment cannot import and must not run again). The driver and the worker talk over a
socketpair wrapped in ``multiprocessing.connection.Connection`` (length-prefixed pickles); a
pidfd says when the child exits, even while it is stuck in ``run()``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import socket
import subprocess
import sys
import time
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from modelport.parallel_run.worker import WorkerSpec

# what would make a built environment's interpreter see the driver's packages instead of its own
_DRIVER_ONLY = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP")


class WorkerProcess:
    """One running worker: ``conn`` to talk to it, ``sentinel`` readable once it has exited."""

    def __init__(self, worker_id: int, spec: WorkerSpec) -> None:
        python = spec.python or sys.executable
        ours, theirs = socket.socketpair()
        env = dict(os.environ)
        if spec.python:  # a built environment: only its own packages (and modelport's runtime)
            for name in _DRIVER_ONLY:
                env.pop(name, None)
        env.update(spec.env)
        try:
            self.popen = subprocess.Popen(
                [python, "-m", "modelport.parallel_run.worker", str(theirs.fileno())],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                env=env,
                cwd=os.getcwd(),
            )
        finally:
            theirs.close()
        self.conn = Connection(ours.detach())
        # Linux: a pidfd; elsewhere -1, and the socket's end-of-file says the worker is gone
        pidfd_open = getattr(os, "pidfd_open", None)
        self.sentinel: int = pidfd_open(self.popen.pid) if pidfd_open else -1
        self.conn.send((worker_id, dataclasses.asdict(spec)))

    def is_alive(self) -> bool:
        return self.popen.poll() is None

    def kill(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()
        self.popen.wait()
        self.conn.close()
        if self.sentinel >= 0:
            os.close(self.sentinel)
            self.sentinel = -1

    def ask_to_stop(self) -> None:
        """Ask an idle worker to exit cleanly (its script's atexit handlers run)."""
        with contextlib.suppress(OSError):
            self.conn.send(None)

    def wait_until(self, deadline: float) -> None:
        """Wait for it to exit until ``deadline`` (time.monotonic()); kill() does the rest."""
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=max(0.0, deadline - time.monotonic()))
