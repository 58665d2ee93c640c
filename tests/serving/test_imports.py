"""The inference server stays light: nothing from the control plane, no heavy libraries."""

from __future__ import annotations

import json
import subprocess
import sys

FORBIDDEN = ("uvicorn", "click", "fastapi", "starlette", "sqlalchemy", "alembic", "httpx", "typer", "rich", "numpy", "pandas",
             "inference_schema", "modelport.server", "modelport.sdk", "modelport.cli", "modelport.targets",
             "modelport.environments")  # fmt: skip


def loaded_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        check=True,
    )
    return set(json.loads(out.stdout.splitlines()[-1]))


def bad(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if any(m == f or m.startswith(f + ".") for f in FORBIDDEN))


def test_serving_imports_nothing_heavy() -> None:
    code = "import modelport.serving, modelport.serving.__main__, modelport.serving.worker, modelport.serving.app"
    assert bad(loaded_after(code)) == []


def test_modelport_batch_is_the_serving_decorator_and_stays_light() -> None:
    modules = loaded_after(
        "import modelport\nassert modelport.batch is __import__('modelport.serving.batching').serving.batching.batch"
    )
    assert bad(modules) == []


def test_compat_shims_import_without_numpy_or_pandas() -> None:
    code = (
        "from modelport.compat import install\ninstall(front=True)\n"
        "from azureml.contrib.services.aml_request import AMLRequest, rawhttp\n"
        "from azureml.contrib.services.aml_response import AMLResponse\n"
        "from azureml.core.model import Model\n"
        "from inference_schema.schema_decorators import input_schema, output_schema\n"
        "from inference_schema.parameter_types.standard_py_parameter_type import StandardPythonParameterType\n"
    )
    modules = loaded_after(code)
    assert "numpy" not in modules and "pandas" not in modules
    assert "modelport.compat.inference_schema.schema_decorators" in modules
