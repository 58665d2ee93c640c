"""@rawhttp and @input_schema entry scripts, schema mode served with the real inference-schema and with the shim."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.serving.conftest import Served, start_server

RAWHTTP = """
from azureml.contrib.services.aml_request import AMLRequest, rawhttp
from azureml.contrib.services.aml_response import AMLResponse


def init():
    pass


@rawhttp
def run(request):
    if request.method == "OPTIONS":
        return AMLResponse("", 204, {"Access-Control-Allow-Origin": "*", "Allow": "GET, POST"})
    out = {
        "method": request.method,
        "full_path": request.full_path,
        "args": request.args.to_dict(),
        "data": request.get_data(False).decode("utf-8", "replace"),
        "ctype": request.headers.get("content-type"),
        "files": {k: [f.filename, f.read().decode()] for k, f in request.files.items()},
        "form": request.form.to_dict(),
    }
    return AMLResponse(out, 200, json_str=True)
"""

SCHEMA = """
import numpy as np
import pandas as pd
from inference_schema.parameter_types.numpy_parameter_type import NumpyParameterType
from inference_schema.parameter_types.pandas_parameter_type import PandasParameterType
from inference_schema.parameter_types.standard_py_parameter_type import StandardPythonParameterType
from inference_schema.schema_decorators import input_schema, output_schema
import inference_schema


def init():
    pass


@input_schema("data", NumpyParameterType(np.array([[1.0, 2.0, 3.0]])))
@input_schema("frame", PandasParameterType(pd.DataFrame({"a": [1], "b": ["x"]})))
@input_schema("scale", StandardPythonParameterType(1.0))
@output_schema(StandardPythonParameterType({"sums": [1.0], "rows": 1, "impl": "x"}))
def run(data, frame=None, scale=2.0):
    rows = 0 if frame is None else int(frame.shape[0])
    kind = type(data).__name__
    return {"sums": (data.sum(axis=1) * scale).tolist(), "rows": rows, "kind": kind,
            "impl": "shim" if "modelport" in inference_schema.__name__ + str(getattr(inference_schema, "__doc__", "")) else "real"}
"""


@pytest.fixture(scope="module")
def rawhttp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    s = start_server(tmp_path_factory.mktemp("rawhttp"), RAWHTTP)
    yield s
    s.stop()


@pytest.fixture(scope="module", params=["real", "shim"])
def schema_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Served, str]]:
    env = {"MODELPORT_COMPAT_SHIMS": "force"} if request.param == "shim" else {}
    s = start_server(tmp_path_factory.mktemp(f"schema-{request.param}"), SCHEMA, env=env)
    yield s, request.param
    s.stop()


def test_rawhttp_gets_the_request(rawhttp_server: Served) -> None:
    r = httpx.post(
        rawhttp_server.url + "/score?x=1&y=2",
        content=b"\x00binary",
        headers={"Content-Type": "application/octet-stream"},
    )
    body = r.json()
    assert body["method"] == "POST"
    assert body["full_path"] == "/score?x=1&y=2"
    assert body["args"] == {"x": "1", "y": "2"}
    assert body["data"] == "\x00binary"
    assert body["ctype"] == "application/octet-stream"


def test_rawhttp_full_path_always_has_question_mark(rawhttp_server: Served) -> None:
    assert httpx.get(rawhttp_server.url + "/score").json()["full_path"] == "/score?"


def test_rawhttp_multipart_files_and_form(rawhttp_server: Served) -> None:
    r = httpx.post(
        rawhttp_server.url + "/score",
        files={"image": ("a.png", b"PNGDATA", "image/png")},
        data={"k": "v"},
    )
    body = r.json()
    assert body["files"] == {"image": ["a.png", "PNGDATA"]}
    assert body["form"] == {"k": "v"}


def test_rawhttp_handles_options_itself(rawhttp_server: Served) -> None:
    r = httpx.options(rawhttp_server.url + "/score")
    assert r.status_code == 204
    assert r.headers["access-control-allow-origin"] == "*"
    assert r.headers.get_list("allow") == ["GET", "POST"]


def test_schema_arguments_are_converted(schema_server: tuple[Served, str]) -> None:
    served, impl = schema_server
    r = httpx.post(
        served.url + "/score",
        json={"data": [[1, 2, 3], [4, 5, 6]], "frame": [{"a": 1, "b": "q"}, {"a": 2, "b": "r"}]},
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"sums": [12.0, 30.0], "rows": 2, "kind": "ndarray", "impl": impl}


def test_schema_parameter_default_used_when_absent(schema_server: tuple[Served, str]) -> None:
    served, _ = schema_server
    r = httpx.post(served.url + "/score", json={"data": [[1, 1, 1]], "frame": [{"a": 1, "b": "x"}]})
    assert r.json()["sums"] == [6.0]


def test_schema_missing_parameter_is_400(schema_server: tuple[Served, str]) -> None:
    served, _ = schema_server
    r = httpx.post(served.url + "/score", json={"frame": []})
    assert r.status_code == 400
    assert r.json() == {"message": "A value is not provided for the 'data' parameter."}


@pytest.mark.parametrize(
    ("content", "ctype", "status", "message"),
    [
        (b'{"data": [[1,2,3]]}', "text/plain", 415, "Expects Content-Type to be application/json"),
        (
            b"{not json",
            "application/json",
            400,
            "POST body could not be decoded as JSON: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)",
        ),
        (b"", "application/json", 400, "POST body is empty. Expecting a JSON dictionary."),
        (b"[1, 2]", "application/json", 400, "POST body should be a JSON dictionary."),
    ],
)
def test_schema_malformed_requests(
    schema_server: tuple[Served, str], content: bytes, ctype: str, status: int, message: str
) -> None:
    served, _ = schema_server
    r = httpx.post(served.url + "/score", content=content, headers={"Content-Type": ctype})
    assert (r.status_code, r.json()) == (status, {"message": message})


def test_schema_shape_mismatch_is_500(schema_server: tuple[Served, str]) -> None:
    served, _ = schema_server
    r = httpx.post(served.url + "/score", json={"data": [[1, 2]]})
    assert r.status_code == 500
    assert "Invalid input array" in served.log()


def test_schema_get_takes_query_parameters(schema_server: tuple[Served, str]) -> None:
    served, _ = schema_server
    r = httpx.get(
        served.url + "/score",
        params={"data": "[[1, 2, 3]]", "scale": "10", "frame": '[{"a": 1, "b": "x"}]'},
    )
    assert r.json()["sums"] == [60.0]


def test_schema_swagger_is_generated_from_decorators(schema_server: tuple[Served, str]) -> None:
    served, _ = schema_server
    doc = httpx.get(served.url + "/swagger.json?version=3").json()
    inp = doc["components"]["schemas"]["ServiceInput"]
    assert inp["properties"]["data"]["format"] == "numpy.ndarray"
    assert inp["properties"]["frame"]["format"] == "pandas.DataFrame:records"
    assert inp["properties"]["scale"] == {"type": "number", "format": "double"}
    assert inp["example"]["data"] == [[1.0, 2.0, 3.0]]
    out = doc["components"]["schemas"]["ServiceOutput"]
    assert out["properties"]["rows"]["type"] == "integer"
    assert (
        httpx.get(served.url + "/swagger.json?version=2").json()["definitions"]["ServiceInput"]
        == inp
    )


def test_user_swagger_file_wins(tmp_path: Path) -> None:
    (tmp_path / "swagger3.json").write_text('{"openapi": "3.0.0", "info": {"title": "mine"}}')
    s = start_server(tmp_path, "def init():\n    pass\n\ndef run(x):\n    return x\n")
    try:
        assert httpx.get(s.url + "/swagger.json?version=3").json()["info"]["title"] == "mine"
        assert httpx.get(s.url + "/swagger.json").json()["swagger"] == "2.0"
    finally:
        s.stop()
