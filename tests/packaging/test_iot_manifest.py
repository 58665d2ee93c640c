"""IoT Edge deployment manifests from v1 ``computeType: "IOT"`` configs: every rule of the config,
and the manifest validated against the deployment schema's shape (no IoT Hub is contacted)."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest

from modelport.errors import UserError
from modelport.packaging.iot import manifest, parse_iot_config
from tests.packaging.iot_schema import SCHEMA

IMAGE = "registry.example.com/digits:v1"


def full_config() -> dict[str, Any]:
    return {
        "computeType": "IOT",
        "iotDeviceId": "edge-device-1",
        "amlModule": {
            "moduleName": "digits",
            "environmentVariables": {"LOG_LEVEL": "DEBUG", "BATCH": 4},
            "propertiesDesired": {"threshold": 0.8},
        },
        "externalModules": [
            {
                "moduleName": "tempSensor",
                "imageLocation": "mcr.microsoft.com/azureiotedge-simulated-temperature-sensor:1.0",
                "createOptions": '{"HostConfig": {"Privileged": false}}',
            }
        ],
        "routes": {
            "sensorToDigits": "FROM /messages/modules/tempSensor/outputs/* INTO "
            'BrokeredEndpoint("/modules/digits/inputs/input1")',
            "digitsToCloud": "FROM /messages/modules/digits/outputs/* INTO $upstream",
        },
        "acrCredentials": [
            {"location": "registry.example.com", "user": "puller", "password": "s3cret"}
        ],
    }


def test_full_config_gives_a_valid_manifest() -> None:
    doc = manifest(parse_iot_config(full_config()), IMAGE)
    jsonschema.validate(doc, SCHEMA)
    content = doc["modulesContent"]
    modules = content["$edgeAgent"]["properties.desired"]["modules"]
    assert modules["digits"]["settings"]["image"] == IMAGE
    options = json.loads(modules["digits"]["settings"]["createOptions"])  # a JSON string
    assert options["HostConfig"]["PortBindings"]["5001/tcp"] == [{"HostPort": "5001"}]
    assert modules["digits"]["env"] == {"LOG_LEVEL": {"value": "DEBUG"}, "BATCH": {"value": 4}}
    assert json.loads(modules["tempSensor"]["settings"]["createOptions"]) == {
        "HostConfig": {"Privileged": False}
    }
    creds = content["$edgeAgent"]["properties.desired"]["runtime"]["settings"][
        "registryCredentials"
    ]
    assert list(creds.values()) == [
        {"username": "puller", "password": "s3cret", "address": "registry.example.com"}
    ]
    assert content["$edgeHub"]["properties.desired"]["routes"]["digitsToCloud"].endswith(
        "$upstream"
    )
    assert content["digits"] == {"properties.desired": {"threshold": 0.8}}


def test_minimal_config() -> None:
    config = {
        "computeType": "iot",  # case-insensitive, as every computeType
        "iotDeviceId": "d1",
        "amlModule": {"moduleName": "m"},
        "routes": {"r": "FROM /* INTO $upstream"},
    }
    doc = manifest(parse_iot_config(config), "localhost/m:latest")
    jsonschema.validate(doc, SCHEMA)
    assert "registryCredentials" not in json.dumps(doc)


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"computeType": "local"}, 'computeType must be "IOT"'),
        ({"iotDeviceId": None}, "iotDeviceId is required"),
        ({"routes": {}}, "routes is required"),
        ({"route": {"a": "b"}}, "did you mean 'routes'"),
        ({"amlModule": {"moduleName": "bad name"}}, "amlModule.moduleName is required"),
        ({"amlModule": {"moduleName": "m", "createOptions": "{not json"}}, "not valid JSON"),
        ({"amlModule": {"moduleName": "m", "createOption": {}}}, "did you mean 'createOptions'"),
        ({"externalModules": [{"moduleName": "x"}]}, "imageLocation is required"),
        (
            {"externalModules": [{"moduleName": "digits", "imageLocation": "a/b"}]},
            "module names must be unique",
        ),
        ({"acrCredentials": [{"location": "r"}]}, "needs location, user and password"),
        ({"routes": {"a.b": "FROM /* INTO $upstream"}}, "routes: 'a.b'"),
    ],
)
def test_config_rules(change: dict[str, Any], fragment: str) -> None:
    config = {**full_config(), **change}
    config = {k: v for k, v in config.items() if v is not None}
    with pytest.raises(UserError, match=None) as info:
        parse_iot_config(config)
    assert fragment in str(info.value)


def test_schema_catches_a_broken_manifest() -> None:
    """The shape check is not vacuous: createOptions as an object (not a string) is refused."""
    doc = manifest(parse_iot_config(full_config()), IMAGE)
    doc["modulesContent"]["$edgeAgent"]["properties.desired"]["modules"]["digits"]["settings"][
        "createOptions"
    ] = {"HostConfig": {}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, SCHEMA)
