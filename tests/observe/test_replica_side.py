"""The replica side in process: bounded buffer, drop-and-count, compact batches, trace lines."""

from __future__ import annotations

import io
import socket
import time

import pytest

from modelport.serving.logs import REQUEST_ID
from modelport.serving.telemetry import MAX_BODY, Sink, Telemetry, TraceStream, encode

SCOPE = {"method": "POST", "path": "/score",
         "headers": [(b"content-type", b"application/json"), (b"x-ms-client-request-id", b"c-1")]}  # fmt: skip


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_full_buffer_drops_and_counts_instead_of_growing() -> None:
    tel = Telemetry(None, requests=True, data=False, capacity=3)
    for i in range(5):
        tel.request(SCOPE, 200, f"r{i}", 0.001)
    assert len(tel.buf) == 3 and tel.dropped == 2


def test_an_unreachable_server_costs_the_batch_not_the_replica() -> None:
    sink = Sink(f"http://127.0.0.1:{_closed_port()}/ingest", "k", None, None)
    tel = Telemetry(sink, requests=True, data=False)
    tel.request(SCOPE, 200, "r1", 0.001)
    tel.exception("r1", ValueError("x"))
    tel.flush()
    assert tel.dropped == 2 and tel.sent == 0 and tel.buf == []


def test_batches_are_compact_rows_with_client_id_and_capped_body() -> None:
    tel = Telemetry(None, requests=True, data=False, log_body=True)
    tel.body("r1", b"x" * (MAX_BODY + 10))
    tel.request(SCOPE, 201, "r1", 0.25)
    tel.trace("r1", '{"a": 1}')
    batch = encode(tel.buf)
    ((_start, rid, cid, method, path, status, seconds, body),) = batch["requests"]
    assert (rid, cid, method, path, status, seconds) == ("r1", "c-1", "POST", "/score", 201, 0.25)
    assert len(body) == MAX_BODY
    assert batch["texts"][0][2:] == ["r1", '{"a": 1}']


def test_only_complete_lines_written_during_a_request_become_traces() -> None:
    tel = Telemetry(None, requests=True, data=False)
    out = io.StringIO()
    stream = TraceStream(out, tel)
    stream.write("outside a request\n")
    token = REQUEST_ID.set("r9")
    try:
        stream.write("hello ")
        stream.write("world\nsecond")
        stream.write(" line\n")
    finally:
        REQUEST_ID.reset(token)
    assert [i[2:] for i in tel.buf] == [("r9", "hello world"), ("r9", "second line")]
    assert out.getvalue() == "outside a request\nhello world\nsecond line\n"


def test_a_batch_over_the_body_limit_goes_in_halves_and_a_huge_record_is_dropped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import modelport.serving.telemetry as telemetry

    posted: list[int] = []

    class CountingSink(Sink):
        def send(self, body: bytes) -> bool:
            posted.append(len(body))
            return True

    monkeypatch.setattr(telemetry, "MAX_POST_BYTES", 2000)
    tel = Telemetry(
        CountingSink("http://127.0.0.1:1/x", "k", None, None), requests=True, data=False
    )
    for i in range(40):
        tel.trace(f"r{i}", "x" * 100)
    tel.trace("big", "y" * 5000)
    tel.flush()
    assert len(posted) > 1 and max(posted) <= 2000
    assert (tel.sent, tel.dropped) == (40, 1)


def test_a_draining_replica_reports_at_once_not_at_the_next_interval() -> None:
    posted: list[bytes] = []

    class CountingSink(Sink):
        def send(self, body: bytes) -> bool:
            posted.append(body)
            return True

    tel = Telemetry(CountingSink("http://127.0.0.1:1/x", "k", None, None), requests=True,
                    data=False, flush_s=3600)  # fmt: skip
    tel.draining = lambda: True
    tel.start()
    tel.request(SCOPE, 200, "last", 0.001)
    deadline = time.monotonic() + 10
    while not posted and time.monotonic() < deadline:
        time.sleep(0.01)  # poll interval, bounded by the deadline
    assert posted and b"last" in posted[0]
