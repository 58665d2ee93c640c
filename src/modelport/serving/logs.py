"""Logging: the server's own log, request-id prefixes on run()'s output, optional JSON access log."""

from __future__ import annotations

import builtins
import contextvars
import io
import json
import logging
import logging.config
import os
import sys
import threading
import time
from typing import Any, TextIO

import orjson

from modelport.compat.log_config import AMLLogFormatter

_builtin_print = builtins.print

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


class _AzmlinfsrvFormatter(AMLLogFormatter):
    """The original's layout; modelport's logger names read as the original's (``azmlinfsrv``)."""

    def format(self, record: logging.LogRecord) -> str:
        if record.name.startswith("modelport.serving"):
            record.name = "azmlinfsrv"
        access_fields = getattr(record, "access", None)
        if access_fields is not None:  # the original's request line (it has no length here)
            f = access_fields
            record.msg = f"{f['method']} {f['path']} {f['status']} {f['duration_ms']:.3f}ms N/A"
            record.args = ()
        return super().format(record)


def _print_to_logger(*objects: Any, sep: str | None = " ", end: str | None = "\n",
                     file: Any = None, flush: bool = False) -> None:  # fmt: skip
    """azmlinfsrv's print hook: print() to stdout becomes an ``azmlinfsrv.print`` log line."""
    target = file or sys.stdout
    if target is sys.stdout:
        logging.getLogger("azmlinfsrv.print").info((sep or " ").join(map(str, objects)))
    else:
        _builtin_print(*objects, sep=sep, end=end, file=target, flush=flush)


def _setup_azmlinfsrv(level: str) -> None:
    """--log-format azmlinfsrv: every line in the original's layout on stdout, as it writes them."""
    handler = logging.StreamHandler(sys.__stdout__)
    handler.setFormatter(_AzmlinfsrvFormatter())
    for logger in (log, access, logging.getLogger("azmlinfsrv")):
        logger.handlers[:] = [handler]
        logger.propagate = False
    log.setLevel(level.upper())
    access.setLevel(logging.INFO)
    logging.getLogger("azmlinfsrv").setLevel(logging.INFO)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    builtins.print = _print_to_logger


def load_logging_json(app_root: str | None, entry_script: str | None) -> str | None:
    """A ``logging.json`` in the app root, else beside the entry script, configures logging (the
    original's rule; its formatter and filter names resolve to modelport's)."""
    roots = [app_root or os.getcwd()]
    if entry_script:
        roots.append(os.path.dirname(os.path.abspath(entry_script)))
    for root in roots:
        path = os.path.join(root, "logging.json")
        if not os.path.isfile(path):
            continue
        from modelport import compat

        compat.install(front=os.environ.get("MODELPORT_COMPAT_SHIMS") == "force")
        with open(path, encoding="utf-8") as f:
            config = json.load(f)
        logging.config.dictConfig(config)
        log.disabled = access.disabled = False  # dictConfig disables loggers it does not name
        log.info("Loaded logging config from %s", path)
        return path
    return None


def setup(level: str, access_log: str, log_format: str = "modelport") -> None:
    """Server log to the real stderr; run()'s print/logging get request-id prefixes."""
    if log_format == "azmlinfsrv" and access_log == "off":
        _setup_azmlinfsrv(level)
        return
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
