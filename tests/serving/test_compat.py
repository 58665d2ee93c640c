"""The azureml.* and inference_schema shims, in a fresh interpreter each (the finder is process-wide)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path


def run_py(code: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_real_inference_schema_wins_when_installed() -> None:
    out = run_py("""
        from modelport.compat import install
        install()
        import inference_schema.schema_decorators as d
        print(d.__name__, d.__file__)
    """)
    assert "site-packages" in out


def test_get_model_path_follows_the_v1_lookup(tmp_path: Path) -> None:
    for version in ("1", "2", "10"):
        d = tmp_path / "azureml-models" / "m" / version
        d.mkdir(parents=True)
        (d / f"model-{version}.pkl").write_text("x")
    crowded = tmp_path / "azureml-models" / "two" / "1"
    crowded.mkdir(parents=True)
    (crowded / "a").write_text("x")
    (crowded / "b").write_text("x")
    (tmp_path / "local_only").write_text("x")
    out = run_py(
        """
        from modelport.compat import install
        install()
        from azureml.core.model import Model
        print(Model.get_model_path("m").split("azureml-models/")[1])
        print(Model.get_model_path("m", version=2).split("azureml-models/")[1])
        print(Model.get_model_path("local_only").endswith("local_only"))
        for bad in (lambda: Model.get_model_path("m", version="2"), lambda: Model.get_model_path("two"),
                    lambda: Model.get_model_path("missing")):
            try:
                bad()
            except Exception as exc:
                print(type(exc).__name__, str(exc).split(" ")[0:3])
        """,
        cwd=tmp_path,
        env={"AML_APP_ROOT": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    lines = out.splitlines()
    assert lines[0] == "m/10/model-10.pkl"
    assert lines[1] == "m/2/model-2.pkl"
    assert lines[2] == "True"
    assert lines[3].startswith("ValueError")
    assert lines[4].startswith("ModelNotFound ['Dir'")
    assert lines[5].startswith("ModelNotFound ['Model', 'missing', 'not']")


def test_amlresponse_shapes() -> None:
    out = run_py("""
        from modelport.compat.aml_response import AMLResponse
        r = AMLResponse(None, 200)
        print(r.body, r.mimetype)
        r = AMLResponse({"a": 1}, 422, {"X-A": "1, 2"}, json_str=True)
        print(r.status_code, r.body, r.headers.items())
        r = AMLResponse(b"\\x00img", 200, {"Content-Type": "image/png"}, run_function_failed=True)
        print(r.headers.items())
    """)
    lines = out.splitlines()
    assert lines[0] == "b'{}' application/json"
    assert (
        lines[1] == "422 b'{\"a\": 1}' [('Content-Type', 'application/json'), "
        "('x-ms-run-function-failed', 'False'), ('X-A', '1'), ('X-A', '2')]"
    )
    assert lines[2] == "[('x-ms-run-function-failed', 'True'), ('Content-Type', 'image/png')]"


def test_shim_standard_types_convert_like_the_spec() -> None:
    out = run_py("""
        import datetime
        from modelport.compat import install
        install(front=True)
        from inference_schema.parameter_types.standard_py_parameter_type import StandardPythonParameterType as S
        print(S(1.0).deserialize_input(3))
        print(S(datetime.date(2020, 1, 2)).deserialize_input("2021-03-04"))
        print(S(b"x").deserialize_input("aGVsbG8="))
        try:
            S(1).deserialize_input("7")
        except ValueError as exc:
            print(str(exc)[:35])
        print(S(1.0).supported_versions(), S([1, "a"]).supported_versions())
    """)
    assert out.splitlines() == [
        "3",
        "2021-03-04",
        "b'hello'",
        "Invalid input data type to parse. E",
        "['2.0', '3.0', '3.1'] ['3.0', '3.1']",
    ]
