"""A webhook receiver on loopback: records every POST, answers 500 a set number of times first."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Call:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    def signed_with(self, secret: str) -> bool:
        stamp = self.headers["webhook-timestamp"]
        mac = hmac.new(secret.encode(), stamp.encode() + b"." + self.body, hashlib.sha256)
        return hmac.compare_digest(self.headers["webhook-signature"], "sha256=" + mac.hexdigest())


@dataclass
class Receiver:
    url: str
    fail_first: dict[str, int] = field(default_factory=dict)  # path -> 500 answers before 200
    calls: list[Call] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def at(self, path: str, status: int | None = None) -> list[Call]:
        with self.lock:
            return [
                c for c in self.calls if c.path == path and (status is None or c.status == status)
            ]

    def wait(self, check: Callable[[], bool], what: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{what} within {timeout} s; got {[(c.path, c.status) for c in self.calls]}"
                )
            time.sleep(0.05)  # poll interval, bounded by the deadline


@contextmanager
def receiver() -> Iterator[Receiver]:
    rec = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            with rec.lock:
                left = rec.fail_first.get(self.path, 0)
                status = 500 if left > 0 else 200
                if left > 0:
                    rec.fail_first[self.path] = left - 1
                rec.calls.append(
                    Call(self.path, {k.lower(): v for k, v in self.headers.items()}, body, status)
                )
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    rec.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield rec
    finally:
        server.shutdown()
        server.server_close()
