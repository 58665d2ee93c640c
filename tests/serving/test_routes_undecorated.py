"""An unchanged v1 entry script (undecorated run(raw)), served once for the module: routes, headers, codes."""

from __future__ import annotations

import json
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.serving.conftest import Served, start_server

SCRIPT = """
import json
import os

import joblib
import numpy as np
from azureml.contrib.services.aml_response import AMLResponse
from azureml.core.model import Model

model = None


def init():
    global model
    path = Model.get_model_path("digits")
    assert path == os.path.join(os.environ["AZUREML_MODEL_DIR"], "model.joblib"), path
    model = joblib.load(path)
    print("model loaded from", path)


def run(raw_data, request_headers):
    data = json.loads(raw_data) if raw_data else {}
    kind = data.get("kind") if isinstance(data, dict) else None
    print("scoring", kind)
    if kind == "string":
        return json.dumps({"a": 1})
    if kind == "echo":
        return {"raw": raw_data, "headers": request_headers}
    if kind == "boom":
        raise ValueError("secret detail that must stay in the log")
    if kind == "aml422":
        return AMLResponse({"error": "bad thing"}, 422, {"X-Multi": "a, b"}, json_str=True)
    if kind == "aml500":
        return AMLResponse("custom failure", 500)
    if kind == "numpy":
        return {"arr": np.arange(3), "f": np.float32(1.5), "i": np.int64(7)}
    x = np.asarray(data["data"], dtype=np.float64)
    return model.predict(x).tolist()
"""


@pytest.fixture(scope="module")
def served(digits_app_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("undecorated")
    shutil.copytree(digits_app_root / "azureml-models", root / "azureml-models")
    s = start_server(
        root,
        SCRIPT,
        "--model-dir",
        str(root / "azureml-models" / "digits" / "1"),
        "--access-control-allow-origins",
        "https://a.example, https://b.example",
        "--access-log",
        "json",
        env={"MODELPORT_MAX_BODY_BYTES": "100000", "SERVICE_NAME": "digits-svc"},
    )
    yield s
    s.stop()


def test_health_says_healthy(served: Served) -> None:
    r = httpx.get(served.url + "/")
    assert (r.status_code, r.text) == (200, "Healthy")


def test_score_predicts_digits(
    served: Served, digits_rows: tuple[list[list[float]], list[int]]
) -> None:
    rows, labels = digits_rows
    r = httpx.post(served.url + "/score", json={"data": rows})
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    assert r.json() == labels
    assert r.headers["x-ms-run-function-failed"] == "False"
    assert re.fullmatch(r"\d+\.\d{3}", r.headers["x-ms-run-fn-exec-ms"])
    assert r.headers["x-ms-server-version"].startswith("modelport/")


def test_body_is_text_whatever_the_content_type(served: Served) -> None:
    body = json.dumps({"kind": "echo"})
    r = httpx.post(served.url + "/score", content=body, headers={"Content-Type": "text/plain"})
    assert r.json()["raw"] == body


def test_returned_string_comes_back_as_json_string(served: Served) -> None:
    r = httpx.post(served.url + "/score", json={"kind": "string"})
    assert r.json() == '{"a": 1}'


def test_get_passes_query_as_json(served: Served) -> None:
    r = httpx.get(
        served.url + "/score", params=[("kind", "echo"), ("n", "3"), ("t", "x"), ("t", "y")]
    )
    raw = json.loads(r.json()["raw"])
    assert raw == {"kind": "echo", "n": 3, "t": ["x", "y"]}


def test_request_headers_arrive_title_case(served: Served) -> None:
    r = httpx.post(
        served.url + "/score",
        json={"kind": "echo"},
        headers={"x-ms-request-id": "abc", "traceparent": "t"},
    )
    headers = r.json()["headers"]
    assert headers["X-Ms-Request-Id"] == "abc"
    assert headers["Traceparent"] == "t"


def test_non_utf8_body_is_400(served: Served) -> None:
    r = httpx.post(served.url + "/score", content=b"\xff\xfe\xfa")
    assert r.status_code == 400
    # the original's text, its exception message included
    assert r.json()["message"] == (
        "Input cannot be decoded as UTF-8: 'utf-8' codec can't decode byte 0xff in position 0: "
        "invalid start byte"
    )


def test_exception_in_run_is_500_with_generic_message_and_traceback_in_log(served: Served) -> None:
    r = httpx.post(served.url + "/score", json={"kind": "boom"}, headers={"x-request-id": "boom-1"})
    assert r.status_code == 500
    assert r.json() == {
        "message": "An unexpected error occurred in scoring script. Check the logs for more info."
    }
    assert r.headers["x-ms-run-function-failed"] == "True"
    assert "secret detail" not in r.text
    log = served.log()
    assert "boom-1,run() raised an exception" in log
    assert "ValueError: secret detail" in log


def test_print_in_run_and_init_is_prefixed_with_request_id(served: Served) -> None:
    httpx.post(served.url + "/score", json={"kind": "echo"}, headers={"x-request-id": "print-me-1"})
    log = served.log()
    assert "print-me-1,scoring echo" in log
    assert "00000000-0000-0000-0000-000000000000,model loaded from" in log


def test_amlresponse_passes_through_with_split_headers(served: Served) -> None:
    r = httpx.post(served.url + "/score", json={"kind": "aml422"})
    assert r.status_code == 422
    assert r.json() == {"error": "bad thing"}
    assert r.headers.get_list("x-multi") == ["a", "b"]
    assert r.headers["x-ms-run-function-failed"] == "False"


def test_amlresponse_5xx_sets_run_function_failed(served: Served) -> None:
    r = httpx.post(served.url + "/score", json={"kind": "aml500"})
    assert (r.status_code, r.text) == (500, "custom failure")
    assert r.headers["x-ms-run-function-failed"] == "True"


def test_numpy_values_are_json_encoded(served: Served) -> None:
    r = httpx.post(served.url + "/score", json={"kind": "numpy"})
    assert r.json() == {"arr": [0, 1, 2], "f": 1.5, "i": 7}


def test_request_id_rules(served: Served) -> None:
    r = httpx.post(served.url + "/score", json={"kind": "echo"})
    rid = r.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f-]{36}", rid)
    assert r.headers["x-ms-request-id"] == rid
    assert "x-ms-client-request-id" not in r.headers
    r = httpx.post(
        served.url + "/score",
        json={"kind": "echo"},
        headers={"x-request-id": "mine", "x-ms-client-request-id": "client", "TraceId": "tr"},
    )
    assert r.headers["x-request-id"] == "mine"
    assert r.headers["x-ms-client-request-id"] == "client"
    assert r.headers["traceid"] == "tr"
    assert r.headers["x-ms-request-id"] == "client"
    r = httpx.post(
        served.url + "/score", json={"kind": "echo"}, headers={"x-ms-request-id": "old-client"}
    )
    assert r.headers["x-ms-client-request-id"] == "old-client"
    assert r.headers["x-ms-request-id"] == "old-client"


@pytest.mark.parametrize("header", ["x-request-id", "x-ms-client-request-id", "x-ms-request-id"])
def test_request_id_longer_than_100_is_431(served: Served, header: str) -> None:
    r = httpx.post(served.url + "/score", json={"kind": "echo"}, headers={header: "x" * 101})
    assert r.status_code == 431
    assert header in r.json()["message"]
    ok = httpx.post(served.url + "/score", json={"kind": "echo"}, headers={header: "x" * 100})
    assert ok.status_code == 200


def test_unknown_path_is_404_json(served: Served) -> None:
    r = httpx.get(served.url + "/nope")
    assert r.status_code == 404
    assert "message" in r.json()


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
def test_other_methods_on_score_are_405(served: Served, method: str) -> None:
    r = httpx.request(method, served.url + "/score", json={"kind": "echo"})
    assert r.status_code == 405
    assert r.json() == {"message": "The method is not allowed for the requested URL."}


def test_options_on_score_is_200_empty(served: Served) -> None:
    r = httpx.options(served.url + "/score")
    assert (r.status_code, r.content) == (200, b"")


def test_cors_for_allowed_origin_only(served: Served) -> None:
    r = httpx.post(
        served.url + "/score", json={"kind": "echo"}, headers={"Origin": "https://b.example"}
    )
    assert r.headers["access-control-allow-origin"] == "https://b.example"
    r = httpx.options(
        served.url + "/score",
        headers={"Origin": "https://a.example", "Access-Control-Request-Headers": "content-type"},
    )
    assert r.headers["access-control-allow-origin"] == "https://a.example"
    assert "POST" in r.headers["access-control-allow-methods"]
    assert r.headers["access-control-allow-headers"] == "content-type"
    r = httpx.post(
        served.url + "/score", json={"kind": "echo"}, headers={"Origin": "https://evil.example"}
    )
    assert "access-control-allow-origin" not in r.headers


def test_oversize_body_is_413_before_reading(served: Served) -> None:
    r = httpx.post(served.url + "/score", content=b"x" * 100_001)
    assert r.status_code == 413
    assert "100000" in r.json()["message"]
    assert r.headers["connection"] == "close"


def test_oversize_chunked_body_is_413(served: Served) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(30):
            yield b"y" * 10_000

    r = httpx.post(served.url + "/score", content=chunks())
    assert r.status_code == 413


def test_swagger_versions(served: Served) -> None:
    v2 = httpx.get(served.url + "/swagger.json").json()
    assert v2["swagger"] == "2.0"
    assert v2["info"]["title"] == "digits-svc"
    assert v2["definitions"]["ServiceInput"] == {"type": "object", "example": {}}
    assert v2["definitions"]["ErrorResponse"]["properties"]["message"] == {"type": "string"}
    assert httpx.get(served.url + "/swagger.json?version=3").json()["openapi"] == "3.0.3"
    assert httpx.get(served.url + "/swagger.json?version=3.1").json()["openapi"] == "3.1.0"
    bad = httpx.get(served.url + "/swagger.json?version=7")
    assert bad.status_code == 404
    assert "Swagger version [7] is not valid" in bad.json()["message"]


def test_metrics_count_requests_by_status(served: Served) -> None:
    httpx.post(served.url + "/score", json={"kind": "string"})
    text = httpx.get(served.url + "/metrics").text
    assert re.search(r'modelport_requests_total\{route="score",status="200"\} \d+', text)
    assert "modelport_request_duration_seconds_bucket" in text
    assert "modelport_run_duration_seconds_count" in text
    assert "modelport_requests_in_flight 0" in text
    assert "modelport_ready 1" in text


def test_json_access_log_has_one_line_per_request(served: Served) -> None:
    httpx.post(served.url + "/score", json={"kind": "string"}, headers={"x-request-id": "logged-1"})

    def logged() -> list[dict[str, Any]]:
        text = served.log()
        return [json.loads(line) for line in text.splitlines() if '"request_id":"logged-1"' in line]

    # The line is written after the answer is sent (and reaches the log file a moment later on
    # a loaded machine): wait for it, then check that a second run of the request wrote nothing.
    deadline = time.monotonic() + 15
    while not (lines := logged()):
        assert time.monotonic() < deadline, "no access log line for the request"
        time.sleep(0.05)  # poll interval, bounded by the deadline
    httpx.post(served.url + "/score", json={"kind": "string"}, headers={"x-request-id": "logged-2"})
    while '"request_id":"logged-2"' not in served.log():  # a later line is out: ours is complete
        assert time.monotonic() < deadline, "no access log line for the second request"
        time.sleep(0.05)  # poll interval, bounded by the deadline
    lines = logged()
    assert len(lines) == 1
    assert lines[0]["status"] == 200
    assert lines[0]["path"] == "/score"
    assert lines[0]["duration_ms"] >= lines[0]["run_ms"] >= 0
