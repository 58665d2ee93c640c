"""Export of ingested telemetry with the OpenTelemetry SDK over OTLP/HTTP.

On when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set for the workspace server (the SDK's exporters read
it and the other ``OTEL_EXPORTER_OTLP_*`` variables themselves). Requests become SERVER spans,
exceptions events on their request's span, traces (print/logging) log records. Trace and span
ids are derived from the request id, so a trace printed during a request and the request's span
correlate in the backend although they may reach the server in different batches.
"""

from __future__ import annotations

import hashlib
import threading
from typing import Any

from opentelemetry import trace as trace_api
from opentelemetry._logs import LogRecord, SeverityNumber
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.id_generator import IdGenerator, RandomIdGenerator

SCOPE = "modelport.observe"


def request_ids(request_id: str) -> tuple[int, int]:
    """(trace id, span id) of a request's span, stable for the request id."""
    digest = hashlib.sha256(request_id.encode()).digest()
    return int.from_bytes(digest[:16], "big") or 1, int.from_bytes(digest[16:24], "big") or 1


class _PresetIds(IdGenerator):
    """Hands out the ids set for the span being started on this thread, random ones otherwise."""

    def __init__(self) -> None:
        self.local = threading.local()
        self.random = RandomIdGenerator()

    def generate_trace_id(self) -> int:
        preset = getattr(self.local, "ids", None)
        return preset[0] if preset else self.random.generate_trace_id()

    def generate_span_id(self) -> int:
        preset = getattr(self.local, "ids", None)
        return preset[1] if preset else self.random.generate_span_id()


class _Service:
    """One tracer and logger per service: the OTLP resource's service.name is the service."""

    def __init__(self, workspace: str, service: str) -> None:
        resource = Resource.create(
            {
                "service.name": service,
                "service.namespace": workspace,
                "modelport.workspace": workspace,
            }
        )
        self.ids = _PresetIds()
        self.traces = TracerProvider(resource=resource, id_generator=self.ids)
        self.traces.add_span_processor(
            BatchSpanProcessor(OTLPSpanExporter(), schedule_delay_millis=500)
        )
        self.logs = LoggerProvider(resource=resource)
        self.logs.add_log_record_processor(
            BatchLogRecordProcessor(OTLPLogExporter(), schedule_delay_millis=500)
        )
        self.tracer = self.traces.get_tracer(SCOPE)
        self.logger = self.logs.get_logger(SCOPE)
        self.lock = threading.Lock()

    def shutdown(self) -> None:
        self.traces.shutdown()
        self.logs.shutdown()


def _ns(seconds: float) -> int:
    return int(seconds * 1e9)


class OtlpExporter:
    def __init__(self) -> None:
        self.services: dict[tuple[str, str], _Service] = {}
        self.lock = threading.Lock()

    def _for(self, workspace: str, service: str) -> _Service:
        with self.lock:
            svc = self.services.get((workspace, service))
            if svc is None:
                svc = self.services[(workspace, service)] = _Service(workspace, service)
            return svc

    def export(
        self, workspace: str, service: str, batch: dict[str, Any], records: list[dict[str, Any]]
    ) -> None:
        svc = self._for(workspace, service)
        common = {"modelport.revision": str(batch.get("revision", "")),
                  "modelport.replica": str(batch.get("replica", ""))}  # fmt: skip
        exceptions: dict[str, list[dict[str, Any]]] = {}
        for r in records:
            if r.get("kind") == "exception":
                exceptions.setdefault(str(r.get("requestId")), []).append(r)
        for r in records:
            if r.get("kind") == "request":
                self._span(
                    svc,
                    r,
                    common,
                    batch.get("models") or "",
                    exceptions.pop(str(r.get("requestId")), []),
                )
        for r in records:
            if r.get("kind") == "trace":
                self._log(svc, r, common, SeverityNumber.INFO, "INFO")
        for left in exceptions.values():  # the request itself came in another batch
            for r in left:
                self._log(svc, r, common, SeverityNumber.ERROR, "ERROR")

    def _span(self, svc: _Service, r: dict[str, Any], common: dict[str, str], models: str,
              exceptions: list[dict[str, Any]]) -> None:  # fmt: skip
        rid = str(r.get("requestId") or "")
        start = float(r["time"])
        status = int(r.get("status") or 0)
        attrs: dict[str, Any] = {
            **common,
            "http.request.method": str(r.get("method") or ""),
            "url.path": str(r.get("path") or ""),
            "http.response.status_code": status,
            "modelport.request_id": rid,
            "modelport.models": models,
        }
        if r.get("clientRequestId"):
            attrs["modelport.client_request_id"] = str(r["clientRequestId"])
        with svc.lock:  # the preset ids are per thread; the lock keeps start_span and them together
            svc.ids.local.ids = request_ids(rid) if rid else None
            try:
                span = svc.tracer.start_span(f"{r.get('method')} {r.get('path')}",
                                             kind=trace_api.SpanKind.SERVER,
                                             start_time=_ns(start), attributes=attrs)  # fmt: skip
            finally:
                svc.ids.local.ids = None
        for e in exceptions:
            span.add_event("exception", {"exception.stacktrace": str(e.get("message") or ""),
                                         "exception.type": _exc_type(str(e.get("message") or ""))},
                           timestamp=_ns(float(e["time"])))  # fmt: skip
        if status >= 500:
            span.set_status(trace_api.Status(trace_api.StatusCode.ERROR))
        span.end(end_time=_ns(start + float(r.get("durationMs") or 0.0) / 1000))

    def _log(self, svc: _Service, r: dict[str, Any], common: dict[str, str],
             severity: SeverityNumber, text: str) -> None:  # fmt: skip
        rid = str(r.get("requestId") or "")
        trace_id, span_id = request_ids(rid) if rid else (None, None)
        attrs: dict[str, Any] = {**common, "modelport.request_id": rid}
        for k, v in (r.get("fields") or {}).items():
            if isinstance(v, str | int | float | bool):
                attrs[f"modelport.fields.{k}"] = v
        if severity == SeverityNumber.ERROR:
            attrs["exception.stacktrace"] = str(r.get("message") or "")
        svc.logger.emit(LogRecord(
            timestamp=_ns(float(r["time"])), trace_id=trace_id, span_id=span_id,
            trace_flags=trace_api.TraceFlags(trace_api.TraceFlags.SAMPLED),
            severity_number=severity, severity_text=text, body=str(r.get("message") or ""),
            attributes=attrs,
        ))  # fmt: skip

    def flush(self) -> None:
        with self.lock:
            services = list(self.services.values())
        for svc in services:
            svc.traces.force_flush()
            svc.logs.force_flush()

    def shutdown(self) -> None:
        with self.lock:
            services, self.services = list(self.services.values()), {}
        for svc in services:
            svc.shutdown()


def _exc_type(traceback_text: str) -> str:
    last = traceback_text.strip().splitlines()[-1] if traceback_text.strip() else ""
    return last.split(":", 1)[0]
