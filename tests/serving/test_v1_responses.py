"""v1 entry scripts' responses through a real server: Werkzeug-style AMLResponse headers (Microsoft's
CORS sample unchanged), streamed bodies (server-sent events), the original's Content-Type, error
texts, 431 headers and swagger version; the v1 modules a scoring script imports."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.serving.conftest import Served, start_server

# Microsoft's CORS sample (how-to-deploy-advanced-entry-script), unchanged, plus cases for streaming
# and Content-Type; the imports mix the old and the new package names, as real scripts do.
SCRIPT = """
import threading
import time

from azureml.contrib.services.aml_request import AMLRequest, rawhttp
from azureml.contrib.services.aml_response import AMLResponse
from azureml_inference_server_http.api.aml_request import rawhttp as rawhttp2
from azureml_inference_server_http.api.aml_response import AMLResponse as AMLResponse2
from azureml.core.model import Model
from azureml.core.run import Run

release = threading.Event()


def init():
    run = Run.get_context()
    run.log("init_metric", 7)
    assert AMLResponse2 is AMLResponse and rawhttp2 is not None
    assert callable(Model.get_model_path)


def events():
    yield "data: 1\\n\\n"
    release.wait(20)  # the client must have read event 1 before the script produces event 2
    yield b"data: 2\\n\\n"
    yield "data: [DONE]\\n\\n"


@rawhttp
def run(request):
    case = request.args.get("case")
    if case == "sse":
        return AMLResponse(events(), 200, {"Content-Type": "text/event-stream"})
    if case == "release":
        release.set()
        return AMLResponse("released", 200)
    if case == "png":
        return AMLResponse(b"\\x89PNG", 200, {"Content-Type": "image/png"})
    if case == "json-ct":
        return AMLResponse({"a": 1}, 200, {"Content-Type": "application/vnd.api+json"}, json_str=True)
    if case == "status":
        resp = AMLResponse("x", 201)
        return AMLResponse(resp.status + "|" + str(resp.status_code), 200)
    if request.method == 'GET':
        # For this example, just return the URL for GETs.
        respBody = str.encode(request.full_path)
        resp = AMLResponse(respBody, 200)
        resp.headers["Allow"] = "OPTIONS, GET, POST"
        resp.headers["Access-Control-Allow-Methods"] = "OPTIONS, GET, POST"
        resp.headers['Access-Control-Allow-Origin'] = "http://www.example.com"
        resp.headers['Access-Control-Allow-Headers'] = "*"
        return resp
    elif request.method == 'POST':
        reqBody = request.get_data(False)
        resp = AMLResponse(reqBody, 200)
        resp.headers['Access-Control-Allow-Origin'] = "http://www.example.com"
        return resp
    elif request.method == 'OPTIONS':
        resp = AMLResponse("", 200)
        resp.headers["Allow"] = "OPTIONS, GET, POST"
        resp.headers["Access-Control-Allow-Methods"] = "OPTIONS, GET, POST"
        resp.headers['Access-Control-Allow-Origin'] = "http://www.example.com"
        resp.headers['Access-Control-Allow-Headers'] = "*"
        return resp
    else:
        return AMLResponse("bad request", 500)
"""


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    s = start_server(tmp_path_factory.mktemp("v1resp"), SCRIPT)
    yield s
    s.stop()


def test_cors_sample_sets_headers_by_item_assignment(served: Served) -> None:
    r = httpx.get(served.url + "/score?a=1")
    assert r.status_code == 200, r.text
    assert r.text == "/score?a=1"
    assert r.headers["access-control-allow-origin"] == "http://www.example.com"
    assert r.headers["access-control-allow-headers"] == "*"
    r = httpx.options(served.url + "/score")
    assert r.status_code == 200
    assert r.headers["access-control-allow-methods"] == "OPTIONS, GET, POST"
    r = httpx.post(served.url + "/score", content=b"echo me")
    assert (r.status_code, r.content) == (200, b"echo me")
    assert r.headers["access-control-allow-origin"] == "http://www.example.com"
    assert "Attempted to log scalar metric init_metric:" in served.log()


def test_status_reads_like_werkzeug(served: Served) -> None:
    assert httpx.get(served.url + "/score?case=status").text == "201 CREATED|201"


def test_generator_streams_server_sent_events_as_produced(served: Served) -> None:
    client = httpx.Client(timeout=15)
    with client, client.stream("GET", served.url + "/score?case=sse") as r:
        assert r.status_code == 200
        assert r.headers["content-type"] == "text/event-stream"
        assert r.headers["transfer-encoding"] == "chunked"
        assert "content-length" not in r.headers
        lines = r.iter_lines()
        # event 1 arrives while the generator is still blocked before event 2
        assert next(line for line in lines if line) == "data: 1"
        assert client.get(served.url + "/score?case=release").text == "released"
        rest = [line for line in lines if line]
    assert rest == ["data: 2", "data: [DONE]"]


def test_content_type_is_what_the_original_sends(served: Served) -> None:
    r = httpx.get(served.url + "/score?case=png")
    assert r.headers.get_list("content-type") == ["image/png"]
    # json_str=True keeps its application/json and adds the script's: two headers, as the original
    r = httpx.get(served.url + "/score?case=json-ct")
    assert r.headers.get_list("content-type") == ["application/json", "application/vnd.api+json"]
    assert r.json() == {"a": 1}


def test_error_texts_431_and_swagger_version_match_the_original(served: Served) -> None:
    r = httpx.get(served.url + "/nowhere")
    assert r.status_code == 404
    assert r.json() == {
        "message": "The requested URL was not found on the server. If you entered the URL "
        "manually please check your spelling and try again."
    }
    r = httpx.put(served.url + "/score")
    assert r.status_code == 405
    assert r.json() == {"message": "The method is not allowed for the requested URL."}
    r = httpx.post(served.url + "/score", headers={"x-ms-client-request-id": "c" * 101})
    assert r.status_code == 431
    assert r.headers["x-request-id"]  # the request id is still echoed, as the original does
    assert "x-ms-client-request-id" not in r.headers
    r = httpx.post(served.url + "/score", headers={"x-request-id": "r" * 101, "TraceId": "t1"})
    assert r.status_code == 431
    assert "x-request-id" not in r.headers and r.headers["traceid"] == "t1"
    assert httpx.get(served.url + "/swagger.json?version=3").json()["openapi"] == "3.0.3"


def test_streamed_generator_closed_when_client_leaves(tmp_path: Path) -> None:
    script = """
import os, time
from azureml.contrib.services.aml_response import AMLResponse

def init():
    pass

def ticks():
    try:
        while True:
            yield "data: tick\\n\\n"
            time.sleep(0.02)
    finally:
        open(os.path.join(os.environ["AML_APP_ROOT"], "closed"), "w").close()

def run(data):
    return AMLResponse(ticks(), 200, {"Content-Type": "text/event-stream"})
"""
    served = start_server(tmp_path, script)
    try:
        with httpx.stream("POST", served.url + "/score", content=b"{}", timeout=10) as r:
            assert next(r.iter_lines()) == "data: tick"
        deadline_poll(lambda: (tmp_path / "closed").exists())
        assert httpx.get(served.url + "/").status_code == 200
    finally:
        served.stop()


def deadline_poll(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition never became true"
        time.sleep(0.02)  # poll interval, bounded by the deadline
