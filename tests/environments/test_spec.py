import copy
import json

import pytest

from modelport.environments import (
    EnvironmentSpec,
    check_user_name,
    from_azure_json,
    to_azure_json,
)
from modelport.errors import UserError

# The scaffold JSON of the reference spec, section 1.3, verbatim.
AZURE_JSON = {
    "name": "my-deploy-env",
    "version": "1",
    "environmentVariables": {"EXAMPLE_ENV_VAR": "EXAMPLE_VALUE"},
    "python": {
        "userManagedDependencies": False,
        "interpreterPath": "python",
        "condaDependenciesFile": None,
        "baseCondaEnvironment": None,
        "condaDependencies": {
            "name": "project_environment",
            "channels": ["conda-forge"],
            "dependencies": [
                "python=3.6.2",
                {"pip": ["azureml-defaults", "inference-schema[numpy-support]"]},
            ],
        },
    },
    "docker": {
        "enabled": False,
        "baseImage": "mcr.microsoft.com/azureml/base:intelmpi2018.3-ubuntu16.04",
        "baseDockerfile": None,
        "sharedVolumes": True,
        "shmSize": "2g",
        "arguments": [],
        "baseImageRegistry": {"address": None, "username": None, "password": None},
    },
    "spark": {"repositories": [], "packages": [], "precachePackages": True},
    "databricks": {
        "mavenLibraries": [],
        "pypiLibraries": [],
        "rcranLibraries": [],
        "jarLibraries": [],
        "eggLibraries": [],
    },
    "inferencingStackVersion": None,
}


def test_azure_json_is_read_as_is():
    spec = from_azure_json(AZURE_JSON)
    assert spec.name == "my-deploy-env"
    assert spec.version == "1"
    assert spec.python_version == "3.6.2"
    assert spec.pip_packages == ("azureml-defaults", "inference-schema[numpy-support]")
    assert spec.channels == ("conda-forge",)
    assert spec.environment_variables == {"EXAMPLE_ENV_VAR": "EXAMPLE_VALUE"}
    assert spec.user_managed_dependencies is False
    assert spec.docker["baseImage"].startswith("mcr.microsoft.com/")


def test_azure_json_round_trips_exactly():
    doc = copy.deepcopy(AZURE_JSON)
    assert to_azure_json(from_azure_json(doc)) == AZURE_JSON
    assert to_azure_json(from_azure_json(json.dumps(doc))) == AZURE_JSON


def test_round_trip_keeps_conda_packages_and_unknown_python_keys():
    doc = copy.deepcopy(AZURE_JSON)
    doc["python"]["condaDependencies"]["dependencies"] = [
        "python=3.8",
        "scikit-learn=0.24.1",
        "pip",
        {"pip": ["joblib"]},
    ]
    doc["python"]["baseCondaEnvironment"] = "base"
    spec = from_azure_json(doc)
    assert spec.requirements() == ["scikit-learn==0.24.1", "joblib"]
    assert to_azure_json(spec) == doc


def test_minimal_json_gets_v1_defaults():
    doc = to_azure_json(from_azure_json({"name": "e"}))
    assert doc["python"]["interpreterPath"] == "python"
    assert doc["python"]["condaDependencies"]["dependencies"] == []
    assert doc["docker"]["enabled"] is False
    assert doc["inferencingStackVersion"] is None


@pytest.mark.parametrize("name", ["AzureML-mine", "azureml_x", "Microsoft.env", "MICROSOFTish"])
def test_reserved_prefixes_are_refused_for_user_environments(name):
    with pytest.raises(UserError, match="reserved"):
        check_user_name(name)


def test_ordinary_names_are_accepted():
    check_user_name("my-env")
    EnvironmentSpec(name="my-env").check_user_name()


@pytest.mark.parametrize(
    ("doc", "match"),
    [
        ("{not json", "not valid JSON"),
        ({"version": "1"}, "'name'"),
        ({"name": "bad name!"}, "Invalid environment name"),
        ({"name": "e", "python": []}, "'python' must be an object"),
        ({"name": "e", "environmentVariables": ["A"]}, "environmentVariables"),
        ({"name": "e", "docker": {"baseImage": "a", "baseDockerfile": "FROM b"}}, "Only one of"),
        ({"name": "e", "inferencingStackVersion": "v2"}, "inferencingStackVersion"),
        (
            {"name": "e", "python": {"condaDependencies": {"dependencies": [{"pip": ["six=="]}]}}},
            "Invalid pip requirement 'six=='",
        ),
    ],
)
def test_bad_environment_json_is_a_user_error(doc, match):
    with pytest.raises(UserError, match=match):
        from_azure_json(doc)


def test_content_equal_ignores_version_only():
    a = from_azure_json(AZURE_JSON)
    b = from_azure_json({**AZURE_JSON, "version": "7"})
    c = from_azure_json({**AZURE_JSON, "environmentVariables": {}})
    assert a.content_equal(b)
    assert not a.content_equal(c)
