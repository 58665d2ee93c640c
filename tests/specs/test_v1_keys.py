"""Every key v1's CLI read in an inference or deployment config file is read here: acted on, or
accepted with a warning naming it; only keys v1 never had are errors. The files are public v1
templates, unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelport.specs import ConfigError, load_deployment_config, load_inference_config

# microsoft/MLOpsPython diabetes_regression/scoring/inference_config.yml (deployed with
# `az ml model deploy --ic`), byte for byte
MLOPS_INFERENCE = """\
entryScript: score.py
runtime: python
condaFile: conda_dependencies.yml
extraDockerfileSteps:
schemaFile:
sourceDirectory:
enableGpu: False
baseImage:
baseImageRegistry:
"""
# microsoft/MLOpsPython diabetes_regression/scoring/deployment_config_aks.yml
MLOPS_AKS = """\
computeType: AKS
autoScaler:
    autoscaleEnabled: True
    minReplicas: 1
    maxReplicas: 3
    refreshPeriodInSeconds: 10
    targetUtilization: 70
authEnabled: True
containerResourceRequirements:
    cpu: 0.5
    memoryInGB: 2
appInsightsEnabled: True
scoringTimeoutMs: 5000
maxConcurrentRequestsPerContainer: 2
maxQueueWaitMs: 5000
sslEnabled: True
"""
SCORE = "def init():\n    pass\n\n\ndef run(data):\n    return data\n"


@pytest.fixture()
def scoring(tmp_path: Path) -> Path:
    (tmp_path / "score.py").write_text(SCORE)
    (tmp_path / "conda_dependencies.yml").write_text(
        "dependencies:\n  - python=3.7.*\n  - pip\n  - pip:\n      - azureml-defaults==1.6.*\n"
    )
    return tmp_path


def test_mlopspython_inference_config_loads_unchanged(scoring: Path) -> None:
    path = scoring / "inference_config.yml"
    path.write_text(MLOPS_INFERENCE)
    spec = load_inference_config(path)
    assert spec.entry_script_path == (scoring / "score.py").resolve()
    assert spec.conda_file_path == (scoring / "conda_dependencies.yml").resolve()
    assert spec.warnings == (
        "runtime is deprecated (use an environment)",
        "condaFile is deprecated (use an environment)",
    )


def test_old_v1_keys_are_read_and_named_in_warnings(scoring: Path) -> None:
    path = scoring / "inferenceconfig.yml"
    path.write_text(
        "entryScript: score.py\n"
        "schemaFile: schema.json\n"
        "dependencies: [helpers.py]\n"
        "environmentVariables: {A: '1'}\n"
        "extraDockerFileSteps: steps.txt\n"  # the docs' spelling of extraDockerfileSteps
        "description: old image-era config\n"
        "cudaVersion: 10.1\n"
    )
    spec = load_inference_config(path)
    assert spec.description == "old image-era config"
    assert spec.extra_docker_file_steps == "steps.txt"
    text = "\n".join(spec.warnings)
    for key in ("schemaFile", "dependencies", "environmentVariables", "extraDockerfileSteps",
                "cudaVersion"):  # fmt: skip
        assert f"{key} is accepted but ignored" in text, key


def test_a_key_v1_never_had_is_still_an_error(scoring: Path) -> None:
    path = scoring / "inferenceconfig.yml"
    path.write_text("entryScript: score.py\nschemaFiles: x.json\n")
    with pytest.raises(ConfigError, match=r"unknown key 'schemaFiles'.*did you mean 'schemaFile'"):
        load_inference_config(path)


def test_mlopspython_aks_deployment_config_loads_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "deployment_config_aks.yml"
    path.write_text(MLOPS_AKS)
    with pytest.raises(ConfigError) as err:  # sslEnabled without certificate files, as in v1
        load_deployment_config(path)
    assert "sslEnabled is true: set sslCertificate and sslKey" in str(err.value)
    path.write_text(MLOPS_AKS.replace("sslEnabled: True", "sslEnabled: False"))
    config = load_deployment_config(path)
    assert (config.autoscale_max_replicas, config.replica_max_concurrent_requests) == (3, 2)
    assert config.scoring_timeout_ms == 5000


def test_aci_keys_in_a_local_config_are_warnings_not_errors(tmp_path: Path) -> None:
    path = tmp_path / "deploymentconfig.json"
    path.write_text(
        '{"computeType": "local", "port": 32267, "containerResourceRequirements": '
        '{"cpu": 0.1, "memoryInGB": 0.5}, "location": "eastus"}'
    )
    config = load_deployment_config(path)
    assert (config.port, config.cpu_cores) == (32267, 0.1)
    assert config.warnings == (
        "location is accepted but ignored: v1 reads it only for ACI deployments, not "
        "computeType 'local'",
    )
