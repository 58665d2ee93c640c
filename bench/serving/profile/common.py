"""Shared helpers of the profiling scripts: start a modelport server on the digits model (or a no-op
script), wait for it, and send a fixed number of keep-alive requests from a client process."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
PY = str(ROOT / ".venv" / "bin" / "python")
AZ = ROOT / "bench" / "serving" / "harness" / "peers" / "azureml"
SCRIPTS = {"digits": AZ / "score.py", "noop": ROOT / "bench" / "serving" / "score_noop.py"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_cmd(script: str, port: int, extra: list[str]) -> tuple[list[str], str]:
    path = SCRIPTS.get(script, Path(script))
    cmd = [PY, "-m", "modelport.serving", "--entry-script", path.name, "--port", str(port),
           "--log-level", "WARNING", *extra]  # fmt: skip
    return cmd, str(path.parent)


def start(cmd: list[str], cwd: str, model_dir: str, prefix: list[str] | None = None,
          env_extra: dict[str, str] | None = None) -> subprocess.Popen[bytes]:  # fmt: skip
    env = dict(os.environ)
    env["BENCH_MODEL_PATH"] = os.path.join(model_dir, "model.joblib")
    env.update(env_extra or {})
    return subprocess.Popen([*(prefix or []), *cmd], cwd=cwd, env=env, stdout=subprocess.DEVNULL)


def wait_ready(port: int, proc: subprocess.Popen[bytes], deadline_s: float = 300.0,
               scheme: str = "http") -> None:  # fmt: skip
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            c = _conn(port, scheme, 5)
            c.request("GET", "/")
            if c.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit("server not ready in time")


def _conn(port: int, scheme: str, timeout: float) -> http.client.HTTPConnection:
    if scheme == "https":
        import ssl

        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return http.client.HTTPSConnection("127.0.0.1", port, timeout=timeout, context=ctx)
    return http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)


def send(port: int, body: bytes, n: int, conc: int = 1, headers: dict[str, str] | None = None,
         scheme: str = "http", timeout: float = 600.0) -> None:  # fmt: skip
    """n POST /score requests over ``conc`` keep-alive connections (threads); every one must be 200."""
    hdrs = {"Content-Type": "application/json", **(headers or {})}
    errors: list[str] = []

    def worker(k: int) -> None:
        c = _conn(port, scheme, timeout)
        for _ in range(k):
            c.request("POST", "/score", body=body, headers=hdrs)
            r = c.getresponse()
            r.read()
            if r.status != 200:
                errors.append(str(r.status))
        c.close()

    per = [n // conc + (1 if i < n % conc else 0) for i in range(conc)]
    ts = [threading.Thread(target=worker, args=(k,)) for k in per]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errors:
        print(f"non-200 answers: {errors[:5]}", file=sys.stderr)
