"""The replica side of telemetry and model data collection: record cheaply, report off the path.

The scoring path only appends a tuple to a list (a few hundred nanoseconds); a daemon thread
swaps the list every ``MODELPORT_TELEMETRY_FLUSH_S`` seconds, turns the tuples into JSON and
POSTs the batch to the workspace server's ingestion route with the service's ingestion key.
The buffer is bounded: when the server is slow or away, new records are dropped and counted
(the count travels with the next batch) instead of growing memory or stalling a request.

Configured by the workspace server through the replica's environment (docs/observe.md):
``MODELPORT_TELEMETRY_URL`` + ``MODELPORT_TELEMETRY_KEY`` turn reporting on;
``MODELPORT_TELEMETRY_REQUESTS`` records requests, traces and exceptions (appInsightsEnabled);
``AML_MODEL_DC_STORAGE_ENABLED`` lets ``ModelDataCollector`` collect.
"""

from __future__ import annotations

import http.client
import json
import os
import ssl
import sys
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any, TextIO
from urllib.parse import urlsplit

import orjson

from modelport.serving.logs import REQUEST_ID, PrefixedStream, log

REQUEST, TRACE, EXCEPTION, BODY, DATA = 0, 1, 2, 3, 4
MAX_BODY = 64 * 1024  # App Insights' payload limit, kept by v1's server
MAX_TEXT = 32 * 1024
DRAIN_FLUSH_S = 0.05
MAX_POST_BYTES = 4 * 1024 * 1024  # half the workspace server's JSON body limit (8 MiB)
_TRUE = ("1", "true", "yes", "on")


def _flag(env: dict[str, str] | os._Environ[str], name: str, default: bool = False) -> bool:
    value = env.get(name)
    return default if value in (None, "") else value.strip().lower() in _TRUE


class Sink:
    """POSTs JSON batches to the workspace server; re-reads its URL from server.json on failure."""

    def __init__(self, url: str, key: str, ca_file: str | None, info_file: str | None) -> None:
        self.url, self.key, self.info_file = url, key, info_file
        self.ctx = ssl.create_default_context(cafile=ca_file) if ca_file else None
        self.conn: http.client.HTTPConnection | None = None

    def _connect(self) -> http.client.HTTPConnection:
        u = urlsplit(self.url)
        host, port = u.hostname or "127.0.0.1", u.port
        if u.scheme == "https":
            return http.client.HTTPSConnection(host, port, timeout=5, context=self.ctx)
        return http.client.HTTPConnection(host, port, timeout=5)

    def send(self, body: bytes) -> bool:
        path = urlsplit(self.url).path
        headers = {"Authorization": f"Bearer {self.key}", "Content-Type": "application/json"}
        for attempt in (1, 2):  # a kept-alive connection the server closed: one fresh retry
            try:
                if self.conn is None:
                    self.conn = self._connect()
                self.conn.request("POST", path, body=body, headers=headers)
                resp = self.conn.getresponse()
                resp.read()
                if resp.status < 300:
                    return True
                log.warning("telemetry: the workspace server answered %d", resp.status)
                return False
            except (OSError, http.client.HTTPException):
                self._reset()
                if attempt == 2:
                    self._reread_url()
        return False

    def _reset(self) -> None:
        if self.conn is not None:
            self.conn.close()
        self.conn = None

    def _reread_url(self) -> None:
        """A local server restarted on another port: its server.json has the new address."""
        if not self.info_file:
            return
        try:
            with open(self.info_file, encoding="utf-8") as f:
                base = json.load(f)["url"].rstrip("/")
        except (OSError, ValueError, KeyError, TypeError):
            return
        self.url = base + urlsplit(self.url).path


class Telemetry:
    """One per replica process; every ``record_*`` call is safe from any thread."""

    def __init__(
        self,
        sink: Sink | None,
        *,
        requests: bool,
        data: bool,
        log_body: bool = False,
        capacity: int = 10_000,
        flush_s: float = 0.5,
        revision: str = "",
        replica: str = "",
        models: str = "",
    ) -> None:
        self.sink = sink
        self.requests = requests
        self.data = data
        self.log_body = log_body
        self.capacity = capacity
        self.flush_s = flush_s
        self.buf: list[tuple[Any, ...]] = []
        self.dropped = 0
        self._reported_dropped = 0
        self.sent = 0
        self.header = {"revision": revision, "replica": replica, "models": models}
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.draining: Callable[[], bool] = lambda: False  # the App sets its state's flag

    # -- the hot path: append a tuple, nothing else -----------------------------------------
    def request(self, scope: dict[str, Any], status: int, rid: str, seconds: float) -> None:
        buf = self.buf
        if len(buf) >= self.capacity:
            self.dropped += 1
            return
        buf.append((REQUEST, time.time(), rid, scope, status, seconds))

    def _put(self, item: tuple[Any, ...]) -> None:
        buf = self.buf
        if len(buf) >= self.capacity:
            self.dropped += 1
            return
        buf.append(item)

    def body(self, rid: str, payload: bytes) -> None:
        self._put((BODY, time.time(), rid, payload[:MAX_BODY]))

    def trace(self, rid: str, text: str) -> None:
        self._put((TRACE, time.time(), rid, text[:MAX_TEXT]))

    def exception(self, rid: str, exc: BaseException) -> None:
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        self._put((EXCEPTION, time.time(), rid, text[-MAX_TEXT:]))

    def collect(
        self, rid: str, key: tuple[str, str, str, str], columns: list[str], rows: list[Any]
    ) -> None:
        """Model data: key = (model, version, designation, collection name)."""
        self._put((DATA, time.time(), rid, key, columns, rows))

    # -- the reporter thread -------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is None and self.sink is not None:
            self._thread = threading.Thread(target=self._loop, name="telemetry", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        while True:
            # a draining replica exits soon: report every 50 ms so little is left unsent
            self._wake.wait(DRAIN_FLUSH_S if self.draining() else self.flush_s)
            self._wake.clear()
            try:
                self.flush()
            except Exception:  # a reporting bug must never take the replica down
                log.exception("telemetry: a batch could not be reported")

    def flush(self) -> None:
        items, self.buf = self.buf, []
        if not items and self.dropped == self._reported_dropped:
            return
        self._send(items)

    def _send(self, items: list[tuple[Any, ...]]) -> None:
        """POST ``items``, halving batches whose JSON would pass the server's body limit."""
        batch = encode(items)
        batch.update(self.header, dropped=self.dropped)
        body = orjson.dumps(batch, option=orjson.OPT_SERIALIZE_NUMPY)
        if len(body) > MAX_POST_BYTES:
            if len(items) == 1:  # one record larger than a request may be (a huge collect())
                self.dropped += 1
                return
            half = len(items) // 2
            self._send(items[:half])
            self._send(items[half:])
            return
        assert self.sink is not None
        if self.sink.send(body):
            self.sent += len(items)
            self._reported_dropped = batch["dropped"]
        else:
            self.dropped += len(items)


def encode(items: list[tuple[Any, ...]]) -> dict[str, Any]:
    """The JSON batch of buffered tuples (runs on the reporter thread).

    Compact rows, not objects: this runs for every request, and lists encode several times
    faster than dicts. The server expands them (server/observe/records.py: ``expand``).
    """
    bodies = {i[2]: i[3] for i in items if i[0] == BODY} if any(i[0] == BODY for i in items) else {}
    requests: list[list[Any]] = []
    texts: list[list[Any]] = []
    data: list[dict[str, Any]] = []
    append_request, append_text = requests.append, texts.append
    for item in items:
        kind = item[0]
        if kind == REQUEST:
            _, t, rid, scope, status, seconds = item
            client_id = None
            for k, v in scope["headers"]:
                if k == b"x-ms-client-request-id":
                    client_id = v.decode("latin-1")
            body = bodies.get(rid) if bodies else None
            append_request([t - seconds, rid, client_id, scope["method"], scope["path"], status,
                            seconds, None if body is None else body.decode("utf-8", "replace")])  # fmt: skip
        elif kind in (TRACE, EXCEPTION):
            append_text([kind, item[1], item[2], item[3]])
        elif kind == DATA:
            model, version, designation, collection = item[3]
            data.append({"time": item[1], "requestId": item[2], "model": model, "version": version,
                         "designation": designation, "collection": collection,
                         "columns": item[4], "rows": item[5]})  # fmt: skip
    return {"requests": requests, "texts": texts, "data": data}


class TraceStream(PrefixedStream):
    """Wraps stdout/stderr: complete lines written while a request id is set become traces."""

    def __init__(self, inner: TextIO, telemetry: Telemetry) -> None:
        super().__init__(inner)
        self.telemetry = telemetry
        self._pending = threading.local()

    def write(self, s: str) -> int:
        rid = REQUEST_ID.get()
        if rid is not None and s:
            text = getattr(self._pending, "v", "") + s
            *lines, rest = text.split("\n")
            self._pending.v = rest
            for line in lines:
                if line:
                    self.telemetry.trace(rid, line)
        return self.inner.write(s)


def _capture_output(telemetry: Telemetry) -> None:
    """print() and logging output of the entry script, through one wrapper per stream."""
    import logging

    for name in ("stdout", "stderr"):
        old = getattr(sys, name)
        if isinstance(old, TraceStream):
            continue
        new = TraceStream(old, telemetry)
        setattr(sys, name, new)
        # handlers created before us (logs.setup's root handler) write to the old object
        for handler in logging.getLogger().handlers:
            if isinstance(handler, logging.StreamHandler) and handler.stream is old:
                handler.setStream(new)


_CURRENT: list[Telemetry | None] = []


def current() -> Telemetry | None:
    """This process's Telemetry (created from the environment on first use), or None when off."""
    if not _CURRENT:
        _CURRENT.append(from_env(os.environ))
    return _CURRENT[0]


def from_env(env: dict[str, str] | os._Environ[str]) -> Telemetry | None:
    requests = _flag(env, "MODELPORT_TELEMETRY_REQUESTS")
    data = _flag(env, "AML_MODEL_DC_STORAGE_ENABLED")
    url, key = env.get("MODELPORT_TELEMETRY_URL"), env.get("MODELPORT_TELEMETRY_KEY")
    if not (requests or data) or not url or not key:
        return None
    sink = Sink(url, key, env.get("MODELPORT_TELEMETRY_CA") or None,
                env.get("MODELPORT_SERVER_INFO") or None)  # fmt: skip
    telemetry = Telemetry(
        sink,
        requests=requests,
        data=data,
        log_body=_flag(env, "APP_INSIGHTS_LOG_RESPONSE_ENABLED"),
        capacity=int(env.get("MODELPORT_TELEMETRY_BUFFER") or 10_000),
        flush_s=float(env.get("MODELPORT_TELEMETRY_FLUSH_S") or 0.5),
        revision=env.get("MODELPORT_REVISION", ""),
        replica=env.get("MODELPORT_REPLICA") or env.get("HOSTNAME") or str(os.getpid()),
        models=env.get("MODELPORT_MODELS", ""),
    )
    if requests:
        _capture_output(telemetry)
    telemetry.start()
    log.info("telemetry: reporting %s to the workspace server",
             " and ".join(k for k, on in (("requests", requests), ("model data", data)) if on))  # fmt: skip
    return telemetry
