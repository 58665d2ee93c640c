#!/usr/bin/env python3
"""The server's TLS record work for one request, warm and after the CPU idled, in one process.

Does what uvloop's SSLProtocol does per keep-alive request (MemoryBIO write, SSLObject.read of
256 KiB, pending(), write, MemoryBIO read) against an in-process client, and times it after a gap
between requests: a sleep (on a VM the vCPU halts: cold caches and predictors, like a server
between requests at 1 connection) or a spin (what --busy-poll-us does). With --model-dir it also
times the digits script's own work right after, to see TLS disturb it. Context variants apply
OpenSSL settings Python has no API for (through the libssl that _ssl itself uses).

  tls_records.py --idle=-200,0,100,300 plain tls tls:norelease tls:aes128 tls:tls12
  idle < 0: spin that many µs; 0: back to back; > 0: sleep.  Pin it: taskset -c 0 ...
"""

from __future__ import annotations

import _ssl
import argparse
import contextlib
import ctypes
import json
import ssl
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

BODY = b'{"data": [[0.0, 0.0, 5.0, 13.0, 9.0, 1.0, 0.0, 0.0]]}'
RESPONSE = (
    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 3\r\n"
    b"x-ms-request-id: 1f0e8a2c-0b5e-4c55-9c1e-0123456789ab\r\n\r\n[0]"
)
READ_MAX = 256 * 1024  # uvloop's SSL_READ_MAX_SIZE: every SSLObject.read asks for this much
SSL_CTRL_CLEAR_MODE, SSL_MODE_RELEASE_BUFFERS = 78, 0x10

libssl = ctypes.CDLL(_ssl.__file__)  # dlsym through _ssl: the libssl Python really uses
libssl.SSL_CTX_ctrl.restype = ctypes.c_long
libssl.SSL_CTX_ctrl.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_long, ctypes.c_void_p]
libssl.SSL_CTX_set_ciphersuites.argtypes = [ctypes.c_void_p, ctypes.c_char_p]


def server_context(cert: str, key: str, opts: list[str]) -> ssl.SSLContext:
    """modelport.serving.process.tls_context, then the variant's settings."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert, key)
    raw = ctypes.c_void_p.from_address(id(ctx) + object.__basicsize__).value  # PySSLContext.ctx
    if (
        "norelease" in opts
    ):  # CPython sets SSL_MODE_RELEASE_BUFFERS: 2 x ~17 KiB malloc/free a request
        libssl.SSL_CTX_ctrl(raw, SSL_CTRL_CLEAR_MODE, SSL_MODE_RELEASE_BUFFERS, None)
    if "aes128" in opts:  # the client's order otherwise: AES-256-GCM first
        libssl.SSL_CTX_set_ciphersuites(raw, b"TLS_AES_128_GCM_SHA256")
    if "tls12" in opts:
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    return ctx


class Connection:
    """A server SSLObject and a client one joined by memory BIOs, handshake done."""

    def __init__(self, server: ssl.SSLContext) -> None:
        client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        client.check_hostname, client.verify_mode = False, ssl.CERT_NONE
        self.s_in, self.s_out, self.c_in, self.c_out = (ssl.MemoryBIO() for _ in range(4))
        self.s = server.wrap_bio(self.s_in, self.s_out, server_side=True)
        self.c = client.wrap_bio(self.c_in, self.c_out, server_hostname="127.0.0.1")
        for _ in range(10):
            for end in (self.c, self.s):
                with contextlib.suppress(ssl.SSLWantReadError):
                    end.do_handshake()
            self.s_in.write(self.c_out.read())
            self.c_in.write(self.s_out.read())
        with contextlib.suppress(ssl.SSLWantReadError):
            self.c.read(1)  # takes the TLS 1.3 session tickets


def gap(us: int) -> None:
    if us > 0:
        time.sleep(us / 1e6)
    elif us < 0:
        end = time.perf_counter_ns() - us * 1000
        while time.perf_counter_ns() < end:
            pass


def measure(
    variant: str,
    idle_us: int,
    n: int,
    cert: str,
    key: str,
    script: Callable[[bytes], object] | None,
    request: bytes,
) -> tuple[float, float]:
    """Median µs of the server's record work and of the script's work, over the last 80 %."""
    name, *opts = variant.split(":")
    conn = Connection(server_context(cert, key, opts)) if name == "tls" else None
    clock = time.perf_counter_ns
    records, work = [], []
    for _ in range(n):
        if conn:
            conn.c.write(request)
            record = conn.c_out.read()
        gap(idle_us)
        t0 = clock()
        if conn:
            conn.s_in.write(record)
            data = conn.s.read(READ_MAX)
            conn.s.pending()
        else:
            data = bytes(request)  # plain: uvloop hands over a new bytes object
        t1 = clock()
        if script:
            script(data)
        t2 = clock()
        if conn:
            conn.s.write(RESPONSE)
            answer = conn.s_out.read()
        t3 = clock()
        if conn:
            conn.c_in.write(answer)
            conn.c.read(READ_MAX)
        records.append(t1 - t0 + t3 - t2)
        work.append(t2 - t1)
    skip = n // 5
    return statistics.median(records[skip:]) / 1e3, statistics.median(work[skip:]) / 1e3


def digits_script(model_dir: Path) -> tuple[Callable[[bytes], object], bytes]:
    import joblib
    import numpy as np

    model = joblib.load(model_dir / "model.joblib")
    body = (model_dir / "body_data.json").read_bytes()

    def run(_: bytes) -> object:
        x = np.asarray(json.loads(body)["data"], dtype=np.float64)
        return json.dumps(model.predict(x).tolist())

    return run, body


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("variants", nargs="+", help="plain | tls[:norelease][:aes128][:tls12]")
    ap.add_argument("--idle", default="0,100", help="µs between requests: <0 spin, >0 sleep")
    ap.add_argument("-n", type=int, default=2000)
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--model-dir", type=Path, help="time the digits script's work too")
    ap.add_argument("--cert")
    ap.add_argument("--key")
    a = ap.parse_args()
    cert, key = a.cert, a.key
    if not (cert and key):
        tmp = tempfile.mkdtemp(prefix="tlsrec-")
        cert, key = f"{tmp}/cert.pem", f"{tmp}/key.pem"
        subprocess.run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                key,
                "-out",
                cert,
                "-days",
                "1",
                "-subj",
                "/CN=127.0.0.1",
            ],
            check=True,
            capture_output=True,
        )
    script, body = digits_script(a.model_dir) if a.model_dir else (None, BODY)
    request = (
        b"POST /score HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n" % len(body)
    ) + body
    for _ in range(a.reps):
        for idle in (int(x) for x in a.idle.split(",")):
            for v in a.variants:
                rec, work = measure(v, idle, a.n, cert, key, script, request)
                extra = f"  script {work:6.1f} µs" if script else ""
                print(f"{v:18s} idle {idle:5d} µs: record work {rec:5.1f} µs{extra}", flush=True)


if __name__ == "__main__":
    main()
