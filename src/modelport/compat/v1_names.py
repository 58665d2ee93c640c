"""Which modelport object answers each name a v1 script imports from ``azureml.*``.

One table drives the import shims (:mod:`modelport.compat.finder` builds a module per entry whose
names are imported on first use, so ``import azureml.core`` inside a service loads nothing of the
control plane until a script touches ``Workspace``) and the mapping table in docs/v1-imports.md
(a test keeps the page equal to :func:`markdown_table`).
"""

from __future__ import annotations

_SDK = "modelport.sdk"
_WS = "modelport.webservice"

# v1 module -> {name: "modelport.module:attribute"}
NAMES: dict[str, dict[str, str]] = {
    "azureml.core": {
        "Workspace": f"{_SDK}.workspace:Workspace",
        "Model": "modelport.compat.model:Model",
        "Environment": f"{_SDK}.environment:Environment",
        "Experiment": f"{_SDK}.run:Experiment",
        "Run": "modelport.compat.run:Run",
        "Webservice": f"{_WS}:Webservice",
        "Dataset": "modelport.parallel_run.dataset:Dataset",
    },
    "azureml.core.dataset": {"Dataset": "modelport.parallel_run.dataset:Dataset"},
    "azureml.data": {
        "FileDataset": "modelport.parallel_run.dataset:FileDataset",
        "TabularDataset": "modelport.parallel_run.dataset:TabularDataset",
    },
    "azureml.core.workspace": {"Workspace": f"{_SDK}.workspace:Workspace"},
    "azureml.core.model": {
        "Model": "modelport.compat.model:Model",
        "InferenceConfig": f"{_SDK}.inference_config:InferenceConfig",
    },
    "azureml.core.environment": {"Environment": f"{_SDK}.environment:Environment"},
    "azureml.core.conda_dependencies": {
        "CondaDependencies": f"{_SDK}.conda_dependencies:CondaDependencies"
    },
    "azureml.core.experiment": {"Experiment": f"{_SDK}.run:Experiment"},
    "azureml.core.run": {"Run": "modelport.compat.run:Run"},
    "azureml.core.webservice": {
        "Webservice": f"{_WS}:Webservice",
        "LocalWebservice": f"{_WS}:LocalWebservice",
        "AciWebservice": f"{_WS}:AciWebservice",
        "AksWebservice": f"{_WS}:AksWebservice",
    },
    "azureml.core.webservice.webservice": {"Webservice": f"{_WS}:Webservice"},
    "azureml.core.webservice.local": {"LocalWebservice": f"{_WS}:LocalWebservice"},
    "azureml.core.webservice.aci": {"AciWebservice": f"{_WS}:AciWebservice"},
    "azureml.core.webservice.aks": {"AksWebservice": f"{_WS}:AksWebservice"},
    # v1's model data collection (azureml-monitoring), docs/observe.md
    "azureml.monitoring": {"ModelDataCollector": "modelport.compat.monitoring:ModelDataCollector"},
    "azureml.monitoring.modeldatacollector": {
        "ModelDataCollector": "modelport.compat.monitoring:ModelDataCollector"
    },
    # v1's batch inference (ParallelRunStep) driver code, docs/batch.md
    "azureml.pipeline.steps": {
        "ParallelRunConfig": "modelport.parallel_run.config:ParallelRunConfig",
        "ParallelRunStep": "modelport.parallel_run.config:ParallelRunStep",
    },
    "azureml.pipeline.core": {
        "Pipeline": "modelport.parallel_run.pipeline:Pipeline",
        "PipelineData": "modelport.parallel_run.pipeline:PipelineData",
        "PipelineParameter": "modelport.parallel_run.parameters:PipelineParameter",
    },
    # v1's exception module: driver code catches these around deploy/wait calls
    "azureml.exceptions": {
        "AzureMLException": "modelport.errors:ModelportError",
        "UserErrorException": "modelport.errors:UserError",
        "WebserviceException": "modelport.errors:WebserviceException",
        "ModelNotFoundException": "modelport.errors:NotFound",
    },
}

# v1 module -> the modelport module that stands in for it whole (None: an empty package)
MODULES: dict[str, str | None] = {
    "azureml.contrib.services.aml_request": "modelport.compat.aml_request",
    "azureml.contrib.services.aml_response": "modelport.compat.aml_response",
    "azureml_inference_server_http.api.aml_request": "modelport.compat.aml_request",
    "azureml_inference_server_http.api.aml_response": "modelport.compat.aml_response",
    "azureml_inference_server_http.log_config": "modelport.compat.log_config",
}

_NOTES = {
    "azureml.core.model:Model": "`Model.get_model_path` works inside a service (no workspace); "
    "everything else (`Model(ws, name)`, `register`, `list`, `deploy`, `package`) is "
    "`modelport.Model`",
    "azureml.core:Model": "as `azureml.core.model.Model`",
    "azureml.core.run:Run": "`Run.get_context()` outside a tracked run is an offline run that "
    "prints what it is given, as v1's; elsewhere `modelport.Run`",
    "azureml.core:Run": "as `azureml.core.run.Run`",
    "azureml.core.webservice:AksWebservice": "`deploy_configuration(...)` with v1's AKS fields "
    "and checks; deploying needs an attached Kubernetes target",
    "azureml.pipeline.core:PipelineParameter": "in a step's `arguments` and the "
    "`ParallelRunConfig` fields v1 allowed; values from "
    "`Experiment.submit(..., pipeline_parameters=...)`",
}


def public_name(target: str) -> str:
    """``modelport.sdk.workspace:Workspace`` -> ``modelport.Workspace`` where the SDK exports it."""
    module, attr = target.split(":")
    exported = attr in ("Workspace", "Model", "Environment", "Experiment", "InferenceConfig", "Run")
    if exported and (module.startswith(_SDK + ".") or module.startswith("modelport.compat.")):
        return f"modelport.{attr}"
    return f"{module}.{attr}"


def markdown_table() -> str:
    lines = ["| v1 import | modelport | Notes |", "|---|---|---|"]
    for module, names in NAMES.items():
        for name, target in names.items():
            note = _NOTES.get(f"{module}:{name}", "")
            lines.append(f"| `from {module} import {name}` | `{public_name(target)}` | {note} |")
    for module, whole in MODULES.items():
        lines.append(f"| `import {module}` | `{whole}` | the whole module |")
    return "\n".join(lines)
