"""Logging: the server's own log, request-id prefixes on run()'s output, optional JSON access log."""

from __future__ import annotations

import contextvars
import io
import logging
import sys
import threading
import time
from typing import Any, TextIO

import orjson

INIT_REQUEST_ID = "00000000-0000-0000-0000-000000000000"
# The request id of the code running now: set around init() and every run() call.
REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "modelport_request_id", default=None
)

log = logging.getLogger("modelport.serving")
access = logging.getLogger("modelport.serving.access")


class PrefixedStream(io.TextIOBase):
    """Wraps stdout/stderr: lines written while a request id is set start with ``<id>,``."""

    def __init__(self, inner: TextIO) -> None:
        self.inner = inner
        self._line_start = threading.local()

    def write(self, s: str) -> int:
        rid = REQUEST_ID.get()
        if rid is None or not s:
            return self.inner.write(s)
        at_start = getattr(self._line_start, "v", True)
        lines = s.split("\n")
        out = []
        for i, line in enumerate(lines):
            if line and (i > 0 or at_start):
                line = f"{rid},{line}"
            out.append(line)
        self._line_start.v = s.endswith("\n")
        self.inner.write("\n".join(out))
        return len(s)

    def flush(self) -> None:
        self.inner.flush()

    def fileno(self) -> int:
        return self.inner.fileno()

    def isatty(self) -> bool:
        return self.inner.isatty()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self.inner.encoding

    def writable(self) -> bool:
        return True


class _JsonAccessFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = getattr(record, "access", {})
        return orjson.dumps(data).decode()


def setup(level: str, access_log: str) -> None:
    """Server log to the real stderr; run()'s print/logging get request-id prefixes."""
    real_stderr = sys.stderr
    handler = logging.StreamHandler(real_stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    log.handlers[:] = [handler]
    log.setLevel(level.upper())
    log.propagate = False
    access.handlers.clear()
    access.propagate = False
    if access_log == "json":
        ah = logging.StreamHandler(real_stderr)
        ah.setFormatter(_JsonAccessFormatter())
        access.addHandler(ah)
        access.setLevel(logging.INFO)
    else:
        access.setLevel(logging.CRITICAL + 1)
    if not isinstance(sys.stdout, PrefixedStream):
        sys.stdout = PrefixedStream(sys.stdout)
    if not isinstance(sys.stderr, PrefixedStream):
        sys.stderr = PrefixedStream(sys.stderr)
    # a root handler for the entry script's logging calls (written through the prefixed stderr)
    root = logging.getLogger()
    if not root.handlers:
        rh = logging.StreamHandler(sys.stderr)
        rh.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(rh)
        root.setLevel(logging.INFO)


def access_enabled() -> bool:
    return access.isEnabledFor(logging.INFO)


def log_access(**fields: Any) -> None:
    fields["time"] = time.time()
    access.info("", extra={"access": fields})
