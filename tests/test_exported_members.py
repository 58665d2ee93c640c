"""The public SDK surface is a contract (DESIGN.md): pin the names, their signatures and laziness."""

from __future__ import annotations

import inspect
import subprocess
import sys

import modelport

# DESIGN.md "Public interface": the Python names of `from modelport import …`.
CONTRACT = [
    "Environment",
    "Experiment",
    "InferenceConfig",
    "Model",
    "ParallelRunConfig",  # batch: v1's ParallelRunStep contract (docs/batch.md)
    "ParallelRunStep",
    "Pipeline",
    "Run",
    "Webservice",
    "Workspace",
    "__version__",
    "batch",  # serving: the dynamic-batching decorator for entry scripts
]


def test_all_is_exactly_the_contract() -> None:
    assert modelport.__all__ == sorted(CONTRACT)
    assert dir(modelport) == modelport.__all__


def test_every_exported_name_resolves_inside_modelport() -> None:
    for name in modelport.__all__:
        value = getattr(modelport, name)
        if name != "__version__":
            assert value.__module__.startswith("modelport."), name


def test_webservice_module_exports_local_webservice() -> None:
    from modelport.webservice import LocalWebservice

    assert callable(LocalWebservice.deploy_configuration)


def _params(func: object) -> list[str]:
    return list(inspect.signature(func).parameters)  # type: ignore[arg-type]


def test_workspace_and_model_signatures_follow_v1() -> None:
    ws, model = modelport.Workspace, modelport.Model
    for method in ("from_config", "get", "create", "list", "write_config", "delete"):
        assert callable(getattr(ws, method)), method
    assert _params(ws.from_config)[:1] == ["path"]
    assert _params(model.register)[:10] == [
        "workspace", "model_path", "model_name", "tags", "properties", "description",
        "datasets", "model_framework", "model_framework_version", "child_paths",
    ]  # fmt: skip
    assert _params(model.__init__)[:9] == [
        "self", "workspace", "name", "id", "tags", "properties", "version", "run_id",
        "model_framework",
    ]  # fmt: skip
    assert _params(model.list)[:6] == [
        "workspace",
        "name",
        "tags",
        "properties",
        "run_id",
        "latest",
    ]
    assert _params(model.download)[:3] == ["self", "target_dir", "exist_ok"]
    assert _params(model.get_model_path)[:2] == ["model_name", "version"]
    assert _params(model.deploy)[:8] == [
        "workspace", "name", "models", "inference_config", "deployment_config", "deployment_target",
        "overwrite", "show_output",
    ]  # fmt: skip
    for method in ("add_tags", "remove_tags", "add_properties", "update", "update_tags_properties",
                   "delete", "serialize"):  # fmt: skip
        assert callable(getattr(model, method)), method
    frameworks = model.Framework
    assert (frameworks.SCIKITLEARN, frameworks.ONNX, frameworks.TENSORFLOW) == (
        "ScikitLearn",
        "Onnx",
        "TensorFlow",
    )
    assert (frameworks.PYTORCH, frameworks.CUSTOM) == ("PyTorch", "Custom")


def test_run_surface() -> None:
    run = modelport.Run
    for method in ("get", "log", "log_list", "upload_file", "upload_folder", "get_file_names",
                   "get_metrics", "complete", "fail", "child_run", "get_children", "register_model"):  # fmt: skip
        assert callable(getattr(run, method)), method
    assert _params(run.register_model)[:3] == ["self", "model_name", "model_path"]
    assert callable(modelport.Experiment.start_logging)


def test_import_modelport_and_serving_stay_light() -> None:
    code = (
        "import sys, modelport, modelport.serving\n"
        "heavy = [m for m in ('modelport.sdk', 'modelport.server', 'httpx', 'typer', 'sqlalchemy',"
        " 'fastapi') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""


# The public error tree (docs/sdk.md "Errors"): one module, a second spelling, a v1 spelling.
ERRORS = {
    "ModelportError": None,
    "UserError": "ModelportError",
    "AuthenticationError": "UserError",
    "NotFound": "UserError",
    "Conflict": "UserError",
    "PreconditionFailed": "Conflict",
    "PayloadTooLarge": "UserError",
    "ConfigError": "UserError",
    "EnvironmentBuildError": "UserError",
    "ServerError": "ModelportError",
    "ServerUnreachable": "ModelportError",
    "WebserviceException": "ModelportError",
    "OperationTimeout": "ModelportError",
}


def test_error_tree_is_one_public_module() -> None:
    from modelport import errors, exceptions

    assert sorted(errors.__all__) == sorted([*ERRORS, "error_for_status"])
    for name, parent in ERRORS.items():
        cls = getattr(errors, name)
        assert getattr(exceptions, name) is cls, name
        assert cls.__bases__[0].__name__ == (parent or "Exception"), name
    # the classes the SDK raises are these very classes, wherever they are raised from
    from modelport.environments.lock import EnvironmentBuildError
    from modelport.sdk.webservice import OperationTimeout, WebserviceException
    from modelport.specs.errors import ConfigError

    assert (WebserviceException, OperationTimeout) == (
        errors.WebserviceException,
        errors.OperationTimeout,
    )
    assert (ConfigError, EnvironmentBuildError) == (
        errors.ConfigError,
        errors.EnvironmentBuildError,
    )


def test_v1_driver_code_imports_azureml_exceptions() -> None:
    code = (
        "import sys\n"
        "from azureml.exceptions import WebserviceException, UserErrorException\n"
        "import modelport.errors as e\n"
        "assert WebserviceException is e.WebserviceException and UserErrorException is e.UserError\n"
        "heavy = [m for m in ('modelport.specs', 'modelport.environments', 'httpx') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""  # the error module stays light: nothing else came with it
