"""Every declared field: default per compute type, accepted values, rejected values, JSON keys."""

from __future__ import annotations

from typing import Any

import pytest

from modelport.specs import FIELDS, ConfigError, DeploymentConfig, Field, parse_deployment_config
from modelport.specs.fields import ACI, AKS, KUBERNETES, LOCAL, Support, compute_types_accepting

CASES = [(f, c) for f in FIELDS for c in compute_types_accepting(f)]


def _nest(key: str, value: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    node = out
    *parents, leaf = key.split(".")
    for p in parents:
        node = node.setdefault(p, {})
    node[leaf] = value
    return out


def _good(f: Field) -> Any:
    if f.type is bool:
        return f.support is not Support.REFUSED
    if f.type is str:
        return "abc-1"
    if f.maximum is not None:
        return int(f.maximum)
    return 2 if f.type is int else 1.5


def _base(compute: str) -> dict[str, Any]:
    # AKS needs numReplicas or the autoscaler: keep the base config valid on its own
    return {"computeType": compute}


def _ids(case: tuple[Field, str]) -> str:
    return f"{case[1]}-{case[0].key}"


@pytest.mark.parametrize("case", CASES, ids=[_ids(c) for c in CASES])
def test_default_is_the_declared_one(case: tuple[Field, str]) -> None:
    f, compute = case
    config = parse_deployment_config(
        _base(compute) | ({"numReplicas": 1} if compute == AKS else {})
    )
    if f.name == "autoscale_enabled":
        assert config.autoscale_enabled is False  # numReplicas given
    elif f.name == "num_replicas" and compute == AKS:
        assert config.num_replicas == 1
    else:
        assert getattr(config, f.name) == f.defaults[compute]


ACCEPTED = [(f, c) for f, c in CASES if f.support is not Support.REFUSED]
REFUSED = [(f, c) for f, c in CASES if f.support is Support.REFUSED]


@pytest.mark.parametrize("case", REFUSED, ids=[_ids(c) for c in REFUSED])
def test_refused_fields_are_errors_with_the_reason(case: tuple[Field, str]) -> None:
    f, compute = case
    value = True if f.type is bool else "x"
    with pytest.raises(ConfigError) as err:
        parse_deployment_config(_base(compute) | _nest(f.key, value))
    assert str(err.value) == f"{f.key}: {f.refused_reason}"


@pytest.mark.parametrize("case", ACCEPTED, ids=[_ids(c) for c in ACCEPTED])
def test_valid_value_round_trips_through_json(case: tuple[Field, str]) -> None:
    f, compute = case
    data = _base(compute) | _nest(f.key, _good(f))
    if f.type is bool and f.name == "ssl_enabled":
        data |= {"sslCertificate": "c.pem", "sslKey": "k.pem"}
    if compute == AKS and f.name not in ("num_replicas",) and not f.key.startswith("autoScaler"):
        data["numReplicas"] = 2
    if f.name == "autoscale_enabled":
        data["autoScaler"]["autoscaleEnabled"] = True
    if f.name == "token_auth_enabled" and compute == AKS:
        data["authEnabled"] = False
    if f.name == "autoscale_min_replicas":
        data["autoScaler"]["minReplicas"] = 2
    config = parse_deployment_config(data)
    assert getattr(config, f.name) == _good(f)
    assert config.explicit[f.name] == _good(f)
    again = DeploymentConfig.from_json(config.to_json())
    assert again == config
    assert again.to_json() == config.to_json()


@pytest.mark.parametrize("case", CASES, ids=[_ids(c) for c in CASES])
def test_invalid_value_names_the_key_and_what_is_allowed(case: tuple[Field, str]) -> None:
    f, compute = case
    bad: Any = "not-a-number" if f.type is not str else 17
    if f.type is bool:
        bad = "yes"
    with pytest.raises(ConfigError) as err:
        parse_deployment_config(_base(compute) | _nest(f.key, bad), "dc.json")
    message = str(err.value)
    assert message.startswith("dc.json: ")
    assert f"{f.key} must be {f.allowed()}" in message
    assert (repr(bad) in message) is not f.secret  # secrets are never echoed


NUMERIC = [(f, c) for f, c in CASES if f.type in (int, float)]


@pytest.mark.parametrize("case", NUMERIC, ids=[_ids(c) for c in NUMERIC])
def test_out_of_range_numbers_are_refused(case: tuple[Field, str]) -> None:
    f, compute = case
    low = 0 if f.positive else (f.minimum or 0) - 1
    with pytest.raises(ConfigError, match=f"{f.key} must be"):
        parse_deployment_config(_base(compute) | _nest(f.key, low))
    if f.maximum is not None:
        with pytest.raises(ConfigError, match=f"{f.key} must be"):
            parse_deployment_config(_base(compute) | _nest(f.key, f.maximum + 1))
    if f.type is int:
        with pytest.raises(ConfigError, match="an integer"):
            parse_deployment_config(_base(compute) | _nest(f.key, 2.5))


def test_kubernetes_uses_the_aks_schema() -> None:
    config = parse_deployment_config({"computeType": "Kubernetes", "numReplicas": 3})
    assert config.compute_type == KUBERNETES
    assert config.auth_enabled is True
    assert config.initial_delay_seconds == 310
    assert config.autoscale_enabled is False


def test_every_field_has_help_and_a_unique_key() -> None:
    assert len({f.key for f in FIELDS}) == len(FIELDS)
    assert len({f.name for f in FIELDS}) == len(FIELDS)
    for f in FIELDS:
        assert f.help and f.defaults
        assert set(f.defaults) <= {LOCAL, ACI, AKS}
        if f.support is Support.REFUSED:
            assert f.refused_reason
