"""The SDK's Environment and CondaDependencies, offline and against a real workspace server."""

import json
import uuid

import pytest

from modelport.errors import NotFound, UserError
from modelport.sdk.environment import CondaDependencies, Environment
from modelport.sdk.workspace import Workspace


@pytest.fixture(scope="module")
def ws(workspace_server):
    with pytest.MonkeyPatch.context() as mp:
        for key, value in workspace_server.env.items():
            mp.setenv(key, value)
        yield Workspace.create(f"env-{uuid.uuid4().hex[:10]}")


def sample_env(name: str = "sdk-env") -> Environment:
    env = Environment(name)
    env.python.conda_dependencies.add_pip_package("six==1.16.0")
    env.python.conda_dependencies.add_pip_package("azureml-defaults")
    env.environment_variables["A"] = "1"
    return env


def test_v1_object_model_builds_the_azure_json():
    env = sample_env()
    env.python.conda_dependencies.add_conda_package("numpy=1.26")
    env.python.conda_dependencies.add_pip_package("six==1.17.0")  # replaces the same package
    env.docker.base_image = "mcr.microsoft.com/azureml/base:latest"
    env.inferencing_stack_version = "latest"
    doc = env._serialize_to_dict()
    assert doc["name"] == "sdk-env"
    assert doc["environmentVariables"] == {"A": "1"}
    assert doc["python"]["condaDependencies"]["dependencies"] == [
        "numpy=1.26",
        {"pip": ["azureml-defaults", "six==1.17.0"]},
    ]
    assert doc["docker"]["baseImage"] == "mcr.microsoft.com/azureml/base:latest"
    assert doc["inferencingStackVersion"] == "latest"
    assert Environment._deserialize_and_add_to_object(doc) == env


def test_conda_dependencies_create_and_unknown_conda_package():
    cd = CondaDependencies.create(
        conda_packages=["scikit-learn=1.5", "pip"], pip_packages=["joblib"], python_version="3.11"
    )
    assert list(cd.pip_packages) == ["joblib"]
    assert list(cd.conda_packages) == ["scikit-learn=1.5", "pip"]
    assert cd.get_python_version() == "3.11"
    assert "python=3.11" in cd.serialize_to_string()
    with pytest.raises(UserError, match="'r-base'"):
        cd.add_conda_package("r-base")
    cd.remove_pip_package("joblib")
    assert list(cd.pip_packages) == []


def test_files_round_trip(tmp_path):
    (tmp_path / "env.yml").write_text(
        "name: x\ndependencies:\n  - python=3.7\n  - pytorch=1.7.1\n  - pip:\n    - six\n"
    )
    env = Environment.from_conda_specification("from-conda", tmp_path / "env.yml")
    assert env.python.conda_dependencies.get_python_version() == "3.7"
    assert env._to_spec().requirements() == ["torch==1.7.1", "six"]
    (tmp_path / "requirements.txt").write_text("six\njoblib>=1.3\n")
    req_env = Environment.from_pip_requirements("from-req", tmp_path / "requirements.txt")
    assert list(req_env.python.conda_dependencies.pip_packages) == ["six", "joblib>=1.3"]
    env.save_to_directory(tmp_path / "saved")
    with pytest.raises(UserError, match="overwrite"):
        env.save_to_directory(tmp_path / "saved")
    loaded = Environment.load_from_directory(tmp_path / "saved")
    assert loaded == env
    assert (
        json.loads((tmp_path / "saved" / "azureml_environment.json").read_text())["name"]
        == "from-conda"
    )


def test_clone_renames_and_forgets_the_version(ws):
    curated = Environment.get(ws, "AzureML-sklearn-0.24.1-ubuntu18.04-py37-cpu-inference")
    assert curated.version == "1" and curated.is_curated
    mine = curated.clone("my-sklearn")
    assert mine.name == "my-sklearn" and mine.version is None
    assert list(mine.python.conda_dependencies.pip_packages) == list(
        curated.python.conda_dependencies.pip_packages
    )


def test_register_get_list(ws):
    env = sample_env("sdk-reg")
    first = env.register(ws)
    assert first.version == "1"
    assert env.register(ws).version == "1"  # unchanged spec: the same version
    env.python.conda_dependencies.add_pip_package("joblib")
    assert env.register(ws).version == "2"
    got = Environment.get(ws, "sdk-reg", version=1)
    assert list(got.python.conda_dependencies.pip_packages) == ["six==1.16.0", "azureml-defaults"]
    assert got.environment_variables == {"A": "****"}  # secrets are masked in answers
    assert Environment.get(ws, "sdk-reg").version == "2"
    listed = Environment.list(ws)
    assert listed["sdk-reg"].version == "2"
    assert "AzureML-Minimal" in listed
    with pytest.raises(NotFound):
        Environment.get(ws, "no-such-env")


def test_register_refuses_reserved_names(ws):
    with pytest.raises(UserError, match="reserved"):
        Environment("AzureML-custom").register(ws)
    with pytest.raises(UserError, match="reserved"):
        Environment.get(ws, "AzureML-Minimal").register(ws)


def test_v1_spark_and_databricks_sections_round_trip_and_image_sources_are_refused():
    env = Environment("sections")
    env.spark.precache_packages = False
    env.databricks.pypi_libraries = [{"package": "x"}]
    doc = env._serialize_to_dict()
    assert doc["spark"] == {"precachePackages": False}
    assert doc["databricks"] == {"pypiLibraries": [{"package": "x"}]}
    assert Environment._deserialize_and_add_to_object(doc).spark.precache_packages is False
    with pytest.raises(UserError, match="not images"):
        Environment.from_docker_image("x", "python:3.11")
    with pytest.raises(UserError, match="from_pip_requirements"):
        Environment.from_existing_conda_environment("x", "base")
