"""The bigger flood campaign, by hand: ``python -m tests.faults.flood_campaign [SECONDS] [HELD]``.

Attackers run in child processes (the measured client has its own interpreter and GIL); each
attack holds HELD connections (re-opened as the server closes them) against an inference server
and the workspace server, both under a 1,024-file limit. Prints, per attack: legitimate requests,
failures and latency, the server's open files at most and its memory growth; and a baseline
without an attack.
"""

from __future__ import annotations

import multiprocessing as mp
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from tests.faults.flood_support import (
    Flood,
    LargeBodies,
    ProcWatch,
    Traffic,
    limited,
    serve_limited,
)
from tests.security.support import start_server_with_env

NOFILE = 1024
SCRIPT = "def init():\n    pass\n\ndef run(raw):\n    return {'echo': raw}\n"


def _attack(kind: str, port: int, count: int, path: str, extra: bytes, url: str,
            seconds: float, out: mp.Queue) -> None:  # fmt: skip
    a: threading.Thread
    a = LargeBodies(url, count) if kind == "large-body" else Flood(port, count, kind, path, extra)
    a.start()
    time.sleep(seconds)  # the attack's duration
    a.stop()  # type: ignore[attr-defined]
    if isinstance(a, Flood):
        out.put(f"opened {a.opened}, closed by the server {a.closed_by_server}, "
                f"answers {dict(a.answers)}")  # fmt: skip
    else:
        out.put(f"bodies sent {a.sent}, answers {dict(a.statuses)}")


def run(name: str, pid: int, legit: Traffic, attack: tuple[str, int, int, str, bytes, str] | None,
        seconds: float) -> None:  # fmt: skip
    watch = ProcWatch(pid)
    watch.start()
    out: mp.Queue = mp.Queue()
    proc = None
    if attack is not None:
        proc = mp.Process(target=_attack, args=(*attack, seconds + 1.5, out))
        proc.start()
        time.sleep(1.5)  # the flood builds up first
    legit.start()
    time.sleep(seconds)
    legit.stop()
    detail = ""
    if proc is not None:
        proc.join(60)
        detail = out.get(timeout=10)
    watch.stop()
    print(f"{name}: {legit.summary()}; {watch.summary()}; {detail}", flush=True)


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 10.0
    held = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    tmp = Path(tempfile.mkdtemp(prefix="mp-campaign-"))
    served, _ = serve_limited(tmp / "replica", SCRIPT, NOFILE)
    server = start_server_with_env(tmp / "home", {"MODELPORT_BODY_TIMEOUT": "5"},
                                   prefix=limited(NOFILE))  # fmt: skip
    auth = b"Authorization: Bearer " + server.token.encode() + b"\r\n"
    sport, wport = served.port, int(server.url.rsplit(":", 1)[1])

    def score() -> Traffic:
        return Traffic(lambda c: c.post("/score", json={"x": 1}),
                       lambda: httpx.Client(base_url=served.url, timeout=30))  # fmt: skip

    def api() -> Traffic:
        return Traffic(lambda c: c.get("/workspaces"), server.client)

    try:
        run("replica, no attack", served.proc.pid, score(), None, seconds)
        for kind in ("slowloris", "held-body"):
            run(f"replica, {held} {kind}", served.proc.pid, score(),
                (kind, sport, held, "/score", b"", ""), seconds)  # fmt: skip
        run("workspace, no attack", server.pid, api(), None, seconds)
        for kind, extra in (("slowloris", b""), ("held-body", b""), ("held-body", auth)):
            label = kind + (" with the token" if extra else "")
            run(f"workspace, {held} {label}", server.pid, api(),
                (kind, wport, held, "/api/v1/workspaces", extra, ""), seconds)  # fmt: skip
        url = f"{server.url}/api/v1/workspaces/default/models/m/versions"
        run("workspace, 8 clients x unauthenticated 8 MiB bodies", server.pid, api(),
            ("large-body", 0, 8, "", b"", url), seconds)  # fmt: skip
    finally:
        served.stop()
        server.stop()


if __name__ == "__main__":
    main()
