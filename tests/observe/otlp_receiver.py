"""A small OTLP/HTTP receiver on loopback that decodes the official protobufs (opentelemetry-proto)."""

from __future__ import annotations

import gzip
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)


class Received:
    def __init__(self) -> None:
        self.spans: list[tuple[dict[str, Any], Any]] = []  # (resource attributes, span)
        self.logs: list[tuple[dict[str, Any], Any]] = []
        self.lock = threading.Lock()


def attrs(kvs: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kv in kvs:
        v = kv.value
        out[kv.key] = getattr(v, v.WhichOneof("value")) if v.WhichOneof("value") else None
    return out


@contextmanager
def otlp_receiver() -> Iterator[tuple[str, Received]]:
    got = Received()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            if self.path == "/v1/traces":
                req = ExportTraceServiceRequest.FromString(body)
                with got.lock:
                    for rs in req.resource_spans:
                        res = attrs(rs.resource.attributes)
                        for ss in rs.scope_spans:
                            got.spans += [(res, s) for s in ss.spans]
                answer = ExportTraceServiceResponse().SerializeToString()
            elif self.path == "/v1/logs":
                lreq = ExportLogsServiceRequest.FromString(body)
                with got.lock:
                    for rl in lreq.resource_logs:
                        res = attrs(rl.resource.attributes)
                        for sl in rl.scope_logs:
                            got.logs += [(res, r) for r in sl.log_records]
                answer = ExportLogsServiceResponse().SerializeToString()
            else:
                self.send_response(404)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", got
    finally:
        server.shutdown()
        server.server_close()
