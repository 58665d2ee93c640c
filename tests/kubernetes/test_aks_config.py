"""AksWebservice / KubernetesWebservice.deploy_configuration: v1's signature, defaults and rules."""

from __future__ import annotations

import inspect

import pytest

from modelport.specs import ConfigError, ConfigWarning, parse_deployment_config
from modelport.specs.aks import V1_ORDER
from modelport.webservice import AksWebservice, KubernetesWebservice, Webservice


def test_signature_starts_with_v1_order_and_has_every_v1_parameter() -> None:
    names = list(inspect.signature(AksWebservice.deploy_configuration).parameters)
    assert names[: len(V1_ORDER)] == list(V1_ORDER)


def test_defaults_follow_v1() -> None:
    config = AksWebservice.deploy_configuration()
    assert config.compute_type == "AKS"
    assert config.autoscale_enabled is True  # num_replicas unset → autoscaler on
    assert (config.autoscale_min_replicas, config.autoscale_max_replicas) == (1, 10)
    assert config.autoscale_target_utilization == 70
    assert config.autoscale_refresh_seconds == 1
    assert config.auth_enabled is True and config.token_auth_enabled is False
    assert (config.cpu_cores, config.memory_gb) == (0.1, 0.5)
    assert config.scoring_timeout_ms == 60000
    assert config.replica_max_concurrent_requests == 1
    assert config.max_request_wait_time == 500
    assert (config.period_seconds, config.initial_delay_seconds, config.timeout_seconds) == (
        10,
        310,
        2,
    )
    assert (config.success_threshold, config.failure_threshold) == (1, 3)


def test_positional_arguments_are_taken_in_v1_order() -> None:
    config = AksWebservice.deploy_configuration(True, 2, 5)
    assert config.explicit == {
        "autoscale_enabled": True,
        "autoscale_min_replicas": 2,
        "autoscale_max_replicas": 5,
    }


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"num_replicas": 2, "autoscale_enabled": True}, "autoscale enabled and num_replicas"),
        ({"autoscale_enabled": False}, "autoscale disabled but num_replicas not provided"),
        ({"num_replicas": 2, "autoscale_max_replicas": 3}, "autoscale settings provided"),
        ({"autoscale_min_replicas": 4, "autoscale_max_replicas": 3}, "must be ≤"),
        ({"token_auth_enabled": True}, "cannot both be true"),
        ({"cpu_cores": 0}, "cpu_cores must be a number > 0"),
        ({"cpu_cores": 2, "cpu_cores_limit": 1}, "cpu_cores_limit must be ≥ cpu_cores"),
        ({"gpu_cores": 1.5}, "gpu_cores must be an integer"),
        ({"namespace": "-bad"}, "namespace must be up to 63"),
        ({"period_seconds": 0}, "period_seconds must be"),
        ({"replicas": 2}, "unknown parameter 'replicas'"),
    ],
)
def test_v1_rules_are_enforced(params: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        AksWebservice.deploy_configuration(**params)


def test_blobfuse_is_accepted_with_a_warning() -> None:
    with pytest.warns(ConfigWarning, match="blobfuse_enabled"):
        config = KubernetesWebservice.deploy_configuration(num_replicas=1, blobfuse_enabled=True)
    assert config.compute_type == "kubernetes"
    assert config.to_json()["numReplicas"] == 1


def test_classes_register_for_their_compute_types() -> None:
    assert Webservice._by_compute_type["aks"] is AksWebservice
    assert Webservice._by_compute_type["kubernetes"] is KubernetesWebservice


def test_deployment_target_names_the_compute_target() -> None:
    from modelport.errors import UserError
    from modelport.sdk.compute_target import with_deployment_target

    config = with_deployment_target(AksWebservice.deploy_configuration(num_replicas=2), "prod")
    assert config.explicit == {"num_replicas": 2, "compute_target_name": "prod"}
    local = parse_deployment_config({"computeType": "local"})
    with pytest.raises(UserError, match="is a Kubernetes target: use an AKS/kubernetes"):
        with_deployment_target(local, "prod")


def test_aks_service_objects_have_v1s_aks_attributes() -> None:
    config = AksWebservice.deploy_configuration(
        autoscale_max_replicas=4, cpu_cores=0.5, namespace="ml", compute_target_name="prod"
    )
    details = {"name": "digits", "computeType": "AKS", "deploymentConfig": config.to_json()}
    service = Webservice._from_json(None, details)  # type: ignore[arg-type]
    assert isinstance(service, AksWebservice)
    assert service.autoscaler.autoscale_enabled is True
    assert (service.autoscaler.min_replicas, service.autoscaler.max_replicas) == (1, 4)
    assert service.autoscaler.target_utilization == 70
    assert service.container_resource_requirements.cpu == 0.5
    assert service.container_resource_requirements.memory_in_gb == 0.5
    assert service.liveness_probe_requirements.initial_delay_seconds == 310
    assert service.scoring_timeout_ms == 60000
    assert service.max_concurrent_requests_per_container == 1
    assert service.max_request_wait_time == 500
    assert (service.namespace, service.compute_name) == ("ml", "prod")
    assert service.data_collection.storage_enabled is False
