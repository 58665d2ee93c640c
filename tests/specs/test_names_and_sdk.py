"""Service names, the SDK deploy_configuration factories and the generated docs table."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from modelport.specs import FIELDS, ConfigError, ConfigWarning, validate_service_name
from modelport.specs.docs import render
from modelport.specs.fields import fields_for
from modelport.webservice import AciWebservice, LocalWebservice

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


@pytest.mark.parametrize("name", ["abc", "my-service-1", "a" * 32, "a1b"])
def test_valid_service_names(name: str) -> None:
    assert validate_service_name(name) == name


@pytest.mark.parametrize("name", ["ab", "a" * 33, "1abc", "abc-", "ABC", "ab_c", "ab c", 123])
def test_invalid_service_names_quote_the_rule(name: object) -> None:
    with pytest.raises(ConfigError) as err:
        validate_service_name(name)
    assert str(err.value) == (
        f"service name {name!r} is invalid: it must be 3-32 characters of lowercase letters, numbers "
        "or dashes, starting with a letter and ending with a letter or number "
        "(^[a-z]([-a-z0-9]*[a-z0-9])?$)"
    )


def test_factory_signatures_come_from_the_declaration() -> None:
    for cls, compute in ((LocalWebservice, "local"), (AciWebservice, "ACI")):
        params = inspect.signature(cls.deploy_configuration).parameters
        declared = {f.name: f.defaults[compute] for f in fields_for(compute)}
        assert {
            n: p.default for n, p in params.items() if n not in ("tags", "properties")
        } == declared
    local = list(inspect.signature(LocalWebservice.deploy_configuration).parameters)
    aci = list(inspect.signature(AciWebservice.deploy_configuration).parameters)
    assert local[0] == "port" and aci[:2] == ["cpu_cores", "memory_gb"]
    assert "auth_enabled" in aci and "token_auth_enabled" not in aci


def test_local_factory_defaults_and_positional_port() -> None:
    config = LocalWebservice.deploy_configuration(6789)
    assert config.compute_type == "local" and config.port == 6789
    assert LocalWebservice.deploy_configuration().to_json() == {"computeType": "local"}
    with pytest.raises(TypeError):
        LocalWebservice.deploy_configuration(1, 2)


def test_aci_factory_matches_the_v1_defaults() -> None:
    config = AciWebservice.deploy_configuration()
    assert (config.cpu_cores, config.memory_gb, config.auth_enabled) == (0.1, 0.5, False)
    custom = AciWebservice.deploy_configuration(1, 2, auth_enabled=True, tags={"team": "a"})
    assert custom.to_json() == {
        "computeType": "ACI",
        "containerResourceRequirements": {"cpu": 1.0, "memoryInGB": 2.0},
        "authEnabled": True,
        "tags": {"team": "a"},
    }


def test_factory_errors_name_the_parameter() -> None:
    with pytest.raises(ConfigError) as err:
        AciWebservice.deploy_configuration(cpu_cores=-1, memroy_gb=1)
    assert str(err.value) == (
        "unknown parameter 'memroy_gb' in ACI deploy_configuration(); did you mean 'memory_gb'?"
    )
    with pytest.raises(ConfigError, match=r"^cpu_cores must be a number > 0 \(got -1\)$"):
        AciWebservice.deploy_configuration(cpu_cores=-1)
    with pytest.raises(
        ConfigError, match="auth_enabled and token_auth_enabled cannot both be true"
    ):
        LocalWebservice.deploy_configuration(auth_enabled=True, token_auth_enabled=True)


def test_factory_warns_about_ignored_parameters() -> None:
    with pytest.warns(
        ConfigWarning, match="^location is accepted but modelport does not act on it yet$"
    ):
        config = AciWebservice.deploy_configuration(location="westeurope")
    assert config.location == "westeurope"


def test_docs_table_matches_the_declaration() -> None:
    page = DOC.read_text(encoding="utf-8")
    assert page == render(page), "run: python -m modelport.specs.docs docs/configuration.md"
    for f in FIELDS:
        assert f"`{f.key}`" in page and f"`{f.name}`" in page
