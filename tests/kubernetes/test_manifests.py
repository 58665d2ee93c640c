"""Rendered manifests: valid for two Kubernetes minor versions, and v1's fields where they belong."""

from __future__ import annotations

import warnings
from typing import Any

import kubernetes_validate
import pytest
import yaml

from modelport.specs import DeploymentConfig, parse_deployment_config
from modelport.targets.kubernetes.manifests import KubeService, render, to_dicts, to_yaml

# the oldest and the newest minor version whose schemas kubernetes-validate ships here
VERSIONS = ("1.30.0", "1.37.0")
KEY_AUTH = {"mode": "key", "keyHashes": ["0" * 64]}


def _config(data: dict[str, Any]) -> DeploymentConfig:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return parse_deployment_config({"computeType": "AKS", **data})


CONFIGS = {
    "autoscaled-defaults": {},
    "fixed-replicas": {"numReplicas": 3},
    "limits-and-gpu": {
        "numReplicas": 1,
        "gpuCores": 1,
        "containerResourceRequirements": {
            "cpu": 1.5,
            "memoryInGB": 2,
            "cpuLimit": 2,
            "memoryInGBLimit": 3,
        },
    },
    "autoscaler-tuned": {
        "autoScaler": {
            "minReplicas": 2,
            "maxReplicas": 8,
            "targetUtilization": 50,
            "refreshPeriodInSeconds": 5,
        },
    },
    "no-auth": {"numReplicas": 1, "authEnabled": False},
    "probes": {
        "numReplicas": 2,
        "livenessProbeRequirements": {
            "periodSeconds": 3,
            "initialDelaySeconds": 1,
            "timeoutSeconds": 4,
            "successThreshold": 2,
            "failureThreshold": 5,
        },
    },
}


def _service(data: dict[str, Any], **kw: Any) -> KubeService:
    config = _config(data)
    auth = KEY_AUTH if config.auth_enabled else None
    return KubeService("digits", "my_ws", 4, "registry.example/digits:r4", config, "ml", auth, **kw)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_every_rendered_object_validates_strictly(name: str, version: str) -> None:
    objects = to_dicts(render(_service(CONFIGS[name], image_pull_secrets=("regcred",))))
    assert objects
    for obj in objects:
        kubernetes_validate.validate(obj, version, strict=True)


def test_the_validator_catches_a_broken_manifest() -> None:
    deployment = to_dicts(render(_service({"numReplicas": 1})))[1]
    deployment["spec"]["replicas"] = "three"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, VERSIONS[0], strict=True)


def _by_kind(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {o["kind"]: o for o in to_dicts(render(_service(data)))}


def test_autoscaler_maps_to_an_hpa_and_leaves_replicas_to_it() -> None:
    objs = _by_kind(CONFIGS["autoscaler-tuned"])
    assert "replicas" not in objs["Deployment"]["spec"]
    hpa = objs["HorizontalPodAutoscaler"]["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (2, 8)
    assert hpa["metrics"][0]["resource"]["target"] == {
        "type": "Utilization",
        "averageUtilization": 50,
    }
    assert hpa["behavior"]["scaleUp"]["policies"][0]["periodSeconds"] == 5
    assert hpa["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == 60


def test_fixed_replicas_have_no_hpa() -> None:
    objs = _by_kind({"numReplicas": 3})
    assert objs["Deployment"]["spec"]["replicas"] == 3
    assert "HorizontalPodAutoscaler" not in objs


def test_resources_probes_and_rolling_update_follow_the_config() -> None:
    objs = _by_kind(CONFIGS["limits-and-gpu"] | {"scoringTimeoutMs": 30000})
    spec = objs["Deployment"]["spec"]
    assert spec["strategy"]["rollingUpdate"] == {"maxUnavailable": 0, "maxSurge": 1}
    pod = spec["template"]["spec"]
    assert pod["terminationGracePeriodSeconds"] == 35
    (c,) = pod["containers"]
    assert c["resources"] == {
        "requests": {"cpu": "1500m", "memory": "2048Mi"},
        "limits": {"cpu": "2000m", "memory": "3072Mi", "nvidia.com/gpu": "1"},
    }
    env = {e["name"]: e["value"] for e in c["env"]}
    assert env["MODELPORT_SCORING_TIMEOUT_MS"] == "30000"
    assert env["MODELPORT_MAX_CONCURRENT_REQUESTS"] == "1"
    assert env["MODELPORT_MAX_QUEUE_WAIT_MS"] == "500"
    live = _by_kind(CONFIGS["probes"])["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    assert live["livenessProbe"] == {
        "httpGet": {"path": "/", "port": "http"},
        "periodSeconds": 3,
        "initialDelaySeconds": 1,
        "timeoutSeconds": 4,
        "successThreshold": 1,
        "failureThreshold": 5,
    }
    assert live["readinessProbe"]["successThreshold"] == 2


def test_auth_material_travels_in_a_mounted_secret() -> None:
    objs = _by_kind({"numReplicas": 1})
    secret = objs["Secret"]
    assert secret["metadata"]["name"] == "digits-auth"
    assert yaml.safe_load(secret["stringData"]["auth.json"]) == KEY_AUTH
    c = objs["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e["value"] for e in c["env"]}
    assert env["MODELPORT_AUTH_FILE"] == "/var/run/modelport/auth/auth.json"
    assert c["volumeMounts"][0]["readOnly"] is True
    assert "Secret" not in _by_kind({"numReplicas": 1, "authEnabled": False})


def test_labels_are_valid_for_any_workspace_name_and_yaml_round_trips() -> None:
    objects = render(_service({"numReplicas": 1}))
    docs = list(yaml.safe_load_all(to_yaml(objects)))
    assert [d["kind"] for d in docs] == ["Secret", "Deployment", "Service"]
    assert docs[1]["metadata"]["labels"]["modelport.io/workspace"] == "my_ws"
    assert docs[1]["spec"]["template"]["metadata"]["labels"]["modelport.io/revision"] == "4"
    assert docs[2]["spec"]["ports"][0] == {
        "name": "http",
        "port": 80,
        "protocol": "TCP",
        "targetPort": "http",
    }
