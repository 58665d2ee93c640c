"""The ready pipe: a replica writes one byte to the fd in MODELPORT_READY_FD once init() finished
and it listens, so the supervisor learns "ready" without polling its health port."""

from __future__ import annotations

import http.client
import os
import select
import subprocess
import time
from pathlib import Path

from modelport.targets.local.replica import READY_FD_ENV, free_port

from .conftest import PYTHON


def test_the_replica_writes_ready_once_it_listens_after_init(app_dir: Path) -> None:
    (app_dir / "slow.py").write_text(
        "import time\ndef init():\n    time.sleep(1)\ndef run(raw):\n    return {'ok': 1}\n"
    )
    port, health = free_port(), free_port()
    ready_r, ready_w = os.pipe()
    argv = [PYTHON, "-m", "modelport.serving", "--entry-script", "slow.py", "--port", str(port),
            "--health-port", str(health), "--workers", "1", "--share-port"]  # fmt: skip
    env = {**os.environ, READY_FD_ENV: str(ready_w), "MODELPORT_GRACEFUL_TIMEOUT": "3"}
    proc = subprocess.Popen(argv, cwd=app_dir, env=env, pass_fds=(ready_w,),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    os.close(ready_w)
    try:
        readable, _, _ = select.select([ready_r], [], [], 120)
        assert readable, "no ready signal"
        assert os.read(ready_r, 1) == b"R"
        # at that moment init() has finished and the shared port accepts requests
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("POST", "/score", body=b"{}")
        assert conn.getresponse().status == 200
        conn.close()
        # the replica closed its end: nothing more, no end of file while it lives
        assert select.select([ready_r], [], [], 0)[0] and os.read(ready_r, 1) == b""
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        os.close(ready_r)


def test_a_replica_that_fails_init_closes_the_pipe_without_a_word(app_dir: Path) -> None:
    port, health = free_port(), free_port()
    ready_r, ready_w = os.pipe()
    argv = [PYTHON, "-m", "modelport.serving", "--entry-script", "init_fails.py", "--port",
            str(port), "--health-port", str(health), "--workers", "1", "--share-port"]  # fmt: skip
    proc = subprocess.Popen(argv, cwd=app_dir, env={**os.environ, READY_FD_ENV: str(ready_w)},
                            pass_fds=(ready_w,), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    os.close(ready_w)
    try:
        deadline = time.monotonic() + 120
        readable: list[int] = []
        while not readable and time.monotonic() < deadline:
            readable = select.select([ready_r], [], [], 1)[0]
        assert readable and os.read(ready_r, 1) == b""  # end of file: it exited, never ready
        assert proc.wait(timeout=30) != 0
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(ready_r)
