"""v1 driver code with no line changed: its ``azureml.core`` imports resolve to modelport's SDK
(through the .pth the package installs), against a real workspace server, in a fresh interpreter."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from tests.conftest import ServerProcess

# the shape of the "deploy a model" notebooks of MachineLearningNotebooks and the how-to pages
DRIVER = """
from azureml.core import Workspace, Model, Environment
from azureml.core.model import InferenceConfig
from azureml.core.conda_dependencies import CondaDependencies
from azureml.core.webservice import AciWebservice, LocalWebservice, AksWebservice, Webservice
from azureml.core.run import Run

ws = Workspace.create(name="v1-driver", exist_ok=True)
model = Model.register(workspace=ws, model_path="model.pkl", model_name="digits",
                       tags={"area": "digits"}, description="digits classifier")
print("registered", model.name, model.version, isinstance(model, Model))
print("listed", [m.name for m in Model.list(ws, name="digits")])
print("path", Model.get_model_path("digits", _workspace=ws))

env = Environment("sklearn-env")
env.python.conda_dependencies = CondaDependencies.create(
    pip_packages=["scikit-learn", "azureml-defaults", "inference-schema[numpy-support]"])
inference_config = InferenceConfig(entry_script="score.py", environment=env)
print("inference", inference_config.entry_script)

aci = AciWebservice.deploy_configuration(cpu_cores=1, memory_gb=1, auth_enabled=True)
local = LocalWebservice.deploy_configuration(port=6789)
aks = AksWebservice.deploy_configuration(autoscale_max_replicas=3, cpu_cores=0.5)
print("configs", aci.cpu_cores, local.port, aks.autoscale_max_replicas)
try:
    AksWebservice.deploy_configuration(autoscale_enabled=True, num_replicas=2)
except Exception as exc:
    print("refused", type(exc).__name__)
print("services", Webservice.list(ws))
Run.get_context().log("accuracy", 0.97)
"""


def test_v1_driver_code_runs_unchanged(tmp_path: Path, workspace_server: ServerProcess) -> None:
    (tmp_path / "model.pkl").write_bytes(b"not really a model")
    (tmp_path / "score.py").write_text(
        "def init():\n    pass\n\n\ndef run(data):\n    return data\n"
    )
    (tmp_path / "driver.py").write_text(textwrap.dedent(DRIVER))
    out = subprocess.run(
        [sys.executable, "driver.py"],
        cwd=tmp_path,
        env=workspace_server.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert "registered digits 1 True" in lines
    assert "listed ['digits']" in lines
    assert f"path {tmp_path / 'azureml-models' / 'digits' / '1' / 'model.pkl'}" in lines
    assert "inference score.py" in lines
    assert "configs 1.0 6789 3" in lines
    assert "refused ConfigError" in lines
    assert "services []" in lines
    assert "Attempted to log scalar metric accuracy:" in lines
