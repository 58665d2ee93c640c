"""Rules of deployment configuration files: computeType, typos, warnings, AKS cross-field checks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from modelport.specs import ConfigError, load_deployment_config, parse_deployment_config


def _error(data: object) -> str:
    with pytest.raises(ConfigError) as err:
        parse_deployment_config(data, "deploymentconfig.json")
    assert err.value.code == "InvalidConfiguration"
    assert err.value.status_code == 400
    return str(err.value)


def test_v1_local_tutorial_file_is_read_as_is(tmp_path: Path) -> None:
    path = tmp_path / "deploymentconfig.json"
    path.write_text(json.dumps({"computeType": "local", "port": 32267}))
    config = load_deployment_config(path)
    assert config.compute_type == "local"
    assert config.port == 32267
    assert config.num_replicas == 1
    assert config.cpu_cores is None and config.memory_gb is None
    assert config.warnings == ()
    assert config.to_json() == {"computeType": "local", "port": 32267}


def test_v1_aci_file_with_resources_and_auth(tmp_path: Path) -> None:
    path = tmp_path / "aci.json"
    path.write_text(
        json.dumps(
            {
                "computeType": "ACI",
                "containerResourceRequirements": {"cpu": 0.5, "memoryInGB": 1.0},
                "authEnabled": True,
                "appInsightsEnabled": False,
                "location": "eastus",
            }
        )
    )
    config = load_deployment_config(path)
    assert (config.compute_type, config.cpu_cores, config.memory_gb) == ("ACI", 0.5, 1.0)
    assert config.auth_enabled is True
    assert config.warnings == ("location is accepted but modelport does not act on it yet",)


def test_yaml_file_gives_the_same_config_as_json(tmp_path: Path) -> None:
    (tmp_path / "dc.yml").write_text(
        "computeType: aci\ncontainerResourceRequirements:\n  cpu: 1\n  memoryInGB: 2\n"
        "livenessProbeRequirements:\n  periodSeconds: 3\n"
    )
    (tmp_path / "dc.json").write_text(
        '{"computeType": "ACI", "containerResourceRequirements": {"cpu": 1.0, "memoryInGB": 2},'
        ' "livenessProbeRequirements": {"periodSeconds": 3}}'
    )
    assert load_deployment_config(tmp_path / "dc.yml") == load_deployment_config(
        tmp_path / "dc.json"
    )


def test_bad_json_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "dc.json"
    path.write_text('{"computeType": "local",\n "port": }')
    with pytest.raises(ConfigError, match=r"dc.json: not valid JSON: line 2 column 10"):
        load_deployment_config(path)
    with pytest.raises(ConfigError, match="does not exist"):
        load_deployment_config(tmp_path / "missing.json")


def test_compute_type_is_required_and_case_insensitive() -> None:
    assert "Need to specify computeType" in _error({"port": 1})
    assert parse_deployment_config({"computeType": "LOCAL"}).compute_type == "local"
    assert parse_deployment_config({"computeType": "aci"}).compute_type == "ACI"
    assert parse_deployment_config({"computeType": "Aks", "numReplicas": 1}).compute_type == "AKS"
    assert _error({"computeType": "IOT"}) == (
        "deploymentconfig.json: computeType 'IOT' is not supported; "
        "allowed: local, ACI, AKS, kubernetes (any case)"
    )
    assert "must be a JSON/YAML object" in _error(["computeType"])


def test_typo_is_an_error_naming_the_key_and_the_closest_valid_one() -> None:
    assert _error({"computeType": "local", "prot": 8080}) == (
        "deploymentconfig.json: unknown key 'prot' in the local deployment configuration; "
        "did you mean 'port'?"
    )
    message = _error({"computeType": "aci", "containerResourceRequirements": {"cpus": 1}})
    assert "unknown key 'containerResourceRequirements.cpus'" in message
    assert "did you mean 'containerResourceRequirements.cpu'?" in message
    assert "did you mean 'authEnabled'?" in _error({"computeType": "aci", "authenabled": True})
    assert "did you mean 'autoScaler'?" in _error({"computeType": "aks", "autoscaler": {}})
    assert "did you mean" not in _error({"computeType": "local", "zzzzzz": 1})


def test_v1_key_of_another_compute_type_is_a_warning_saying_which_types_take_it() -> None:
    # v1's CLI read each compute type's keys and passed over the rest: such files deployed there
    config = parse_deployment_config({"computeType": "local", "autoScaler": {"minReplicas": 1}})
    assert config.warnings == (
        "autoScaler is accepted but ignored: v1 reads it only for AKS deployments, "
        "not computeType 'local'",
    )
    warned = parse_deployment_config({"computeType": "local", "location": "eastus"}).warnings
    assert "only for ACI deployments" in warned[0]
    warned = parse_deployment_config({"computeType": "AKS", "port": 80, "numReplicas": 1}).warnings
    assert "only for local, ACI deployments" in warned[0]
    endpoint = {
        "computeType": "AKS",
        "numReplicas": 1,
        "versionName": "v2",
        "trafficPercentile": 20,
    }
    assert len(parse_deployment_config(endpoint).warnings) == 2


def test_every_problem_is_reported_at_once() -> None:
    message = _error({"computeType": "local", "prot": 1, "authEnabled": "yes", "port": 0})
    assert "unknown key 'prot'" in message
    assert "authEnabled must be true or false (got 'yes')" in message
    assert "port must be an integer from 1 to 65535 (got 0)" in message


def test_group_must_be_an_object_and_null_means_unset() -> None:
    assert "containerResourceRequirements must be an object" in _error(
        {"computeType": "aci", "containerResourceRequirements": 1}
    )
    config = parse_deployment_config({"computeType": "aci", "port": None, "keys": None})
    assert config.explicit == {}


def test_ignored_keys_warn_only_when_they_would_matter() -> None:
    config = parse_deployment_config(
        {"computeType": "aci", "appInsightsEnabled": True, "dnsNameLabel": "x", "cname": "a.b"}
    )
    assert config.warnings == ("dnsNameLabel is accepted but modelport does not act on it yet",)
    quiet = parse_deployment_config({"computeType": "aci", "appInsightsEnabled": False})
    assert quiet.warnings == ()


def test_customer_managed_keys_are_refused_rather_than_ignored() -> None:
    message = _error({"computeType": "aci", "vaultBaseUrl": "https://v", "keyName": "k"})
    assert "vaultBaseUrl: customer-managed key encryption is not available" in message
    assert "keyName: customer-managed key" in message


def test_ssl_needs_a_certificate_and_a_key() -> None:
    on = parse_deployment_config(
        {"computeType": "local", "sslEnabled": True, "sslCertificate": "c.pem", "sslKey": "k.pem"}
    )
    assert on.ssl_enabled and on.warnings == ()
    message = _error({"computeType": "aci", "sslEnabled": True, "sslCertificate": "c.pem"})
    assert message == (
        "deploymentconfig.json: sslEnabled is true: set sslCertificate and sslKey (PEM files)"
    )
    off = parse_deployment_config({"computeType": "aci", "sslEnabled": False, "sslKey": "k.pem"})
    assert off.warnings == ()


def test_key_auth_and_token_auth_are_exclusive() -> None:
    assert "authEnabled and tokenAuthEnabled cannot both be true" in _error(
        {"computeType": "local", "authEnabled": True, "tokenAuthEnabled": True}
    )
    # AKS has key auth on by default: token auth needs it switched off
    assert "cannot both be true" in _error(
        {"computeType": "aks", "numReplicas": 1, "tokenAuthEnabled": True}
    )
    ok = parse_deployment_config(
        {"computeType": "aks", "numReplicas": 1, "tokenAuthEnabled": True, "authEnabled": False}
    )
    assert ok.token_auth_enabled and not ok.auth_enabled
    assert "(it applies to local, AKS)" in _error({"computeType": "aci", "tokenAuthEnabled": True})


def test_aks_autoscaler_rules() -> None:
    auto = parse_deployment_config({"computeType": "aks"})
    assert auto.autoscale_enabled is True and auto.num_replicas is None
    assert (auto.autoscale_min_replicas, auto.autoscale_max_replicas) == (1, 10)
    assert auto.autoscale_refresh_seconds == 1 and auto.autoscale_target_utilization == 70
    assert "autoscale enabled and num_replicas provided" in _error(
        {"computeType": "aks", "numReplicas": 2, "autoScaler": {"autoscaleEnabled": True}}
    )
    assert "autoscale disabled but num_replicas not provided: set numReplicas" in _error(
        {"computeType": "aks", "autoScaler": {"autoscaleEnabled": False}}
    )
    assert (
        "autoscale settings provided but autoscale disabled: autoScaler.minReplicas, "
        "autoScaler.targetUtilization"
    ) in _error(
        {
            "computeType": "aks",
            "numReplicas": 2,
            "autoScaler": {"minReplicas": 2, "targetUtilization": 50},
        }
    )
    assert "autoScaler.minReplicas (12) must be ≤ autoScaler.maxReplicas (10)" in _error(
        {"computeType": "aks", "autoScaler": {"minReplicas": 12}}
    )
    assert "autoScaler.targetUtilization must be an integer from 1 to 100 (got 101)" in _error(
        {"computeType": "aks", "autoScaler": {"targetUtilization": 101}}
    )


def test_aks_numbers_must_be_positive_and_namespace_follows_kubernetes() -> None:
    assert "containerResourceRequirements.cpu must be a number > 0 (got 0)" in _error(
        {"computeType": "aks", "containerResourceRequirements": {"cpu": 0}}
    )
    assert "namespace must be up to 63 of a-z, 0-9 and '-'" in _error(
        {"computeType": "aks", "numReplicas": 1, "namespace": "Bad_NS"}
    )
    assert "namespace must be" in _error({"computeType": "aks", "namespace": "a" * 64})
    assert "cpuLimit must be ≥ containerResourceRequirements.cpu" in _error(
        {"computeType": "aks", "containerResourceRequirements": {"cpu": 2, "cpuLimit": 1}}
    )


def test_booleans_are_not_numbers_and_numbers_are_not_booleans() -> None:
    assert "port must be an integer" in _error({"computeType": "local", "port": True})
    assert "authEnabled must be true or false (got 1)" in _error(
        {"computeType": "local", "authEnabled": 1}
    )
    assert "must be an integer" in _error({"computeType": "local", "port": "8080"})
    assert parse_deployment_config({"computeType": "local", "port": 8080.0}).port == 8080


def test_tags_and_properties_are_string_maps() -> None:
    config = parse_deployment_config({"computeType": "local", "tags": {"a": "1"}, "properties": {}})
    assert config.tags == {"a": "1"}
    assert config.to_json() == {"computeType": "local", "tags": {"a": "1"}}
    assert "tags must be an object of string keys and string values" in _error(
        {"computeType": "local", "tags": {"a": 1}}
    )


def test_include_defaults_gives_the_full_effective_config() -> None:
    full = parse_deployment_config({"computeType": "aci"}).to_json(include_defaults=True)
    assert full["containerResourceRequirements"] == {"cpu": 0.1, "memoryInGB": 0.5}
    assert full["livenessProbeRequirements"]["initialDelaySeconds"] == 0
    assert full["maxQueueWaitMs"] == 500
    assert (
        parse_deployment_config(full).values()
        == parse_deployment_config({"computeType": "aci"}).values()
    )


def test_updated_lays_explicit_values_over_the_old_config() -> None:
    old = parse_deployment_config({"computeType": "local", "port": 9000, "numReplicas": 2})
    new = old.updated(parse_deployment_config({"computeType": "LOCAL", "numReplicas": 3}))
    assert (new.port, new.num_replicas) == (9000, 3)
    with pytest.raises(ConfigError, match="cannot both be true"):
        old.updated(parse_deployment_config({"computeType": "local", "authEnabled": True})).updated(
            parse_deployment_config({"computeType": "local", "tokenAuthEnabled": True})
        )
    other = parse_deployment_config({"computeType": "aci"})
    assert old.updated(other) == other


def test_unknown_attribute_is_an_attribute_error() -> None:
    config = parse_deployment_config({"computeType": "local"})
    with pytest.raises(AttributeError):
        _ = config.autoscale_min_replicas
    with pytest.raises(AttributeError):
        _ = config.nope
