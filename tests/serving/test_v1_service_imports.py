"""The v1 modules a scoring script imports, in a service's environment (no control plane: no
``modelport.sdk``) and lazily everywhere: importing them loads nothing of the client SDK."""

from __future__ import annotations

from tests.serving.test_compat import run_py


def test_service_environment_has_the_serving_side_only() -> None:
    out = run_py("""
        import sys
        sys.modules["modelport.sdk"] = None  # what a service's environment lacks
        from azureml.core.model import Model
        from azureml.core import Model as CoreModel, Run as CoreRun
        from azureml.core.run import Run
        run = Run.get_context()
        run.log("accuracy", 0.5)
        run.log_list("losses", [1, 2])
        run.tag("kind", "offline")
        print(CoreModel is Model, CoreRun is Run)
        try:
            Model(None, name="digits")
        except NotImplementedError as exc:
            print("registry:", exc)
    """)
    lines = out.splitlines()
    assert lines[:4] == [
        "Attempted to log scalar metric accuracy:",
        "0.5",
        "Attempted to log list metric losses:",
        "[1, 2]",
    ]
    assert lines[4] == "True True"
    assert lines[5].startswith("registry: azureml.core.model.Model inside a service only offers")


def test_v1_imports_load_no_client_sdk_until_used() -> None:
    out = run_py("""
        import sys
        import azureml.core
        from azureml.core.model import Model
        from azureml.contrib.services.aml_response import AMLResponse
        print(sorted(m for m in sys.modules if m.startswith("modelport.sdk") or m == "httpx"))
        from azureml.core import Workspace
        print("modelport.sdk.workspace" in sys.modules)
    """)
    assert out.splitlines() == ["[]", "True"]
