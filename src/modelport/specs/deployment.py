"""Deployment configuration: the value object, its JSON form and its validation rules.

The same rules run for a v1 ``deploymentconfig.json``/YAML file, for the SDK factories and for the
JSON the workspace server stores; only the names in messages differ (JSON keys for files, parameter
names for SDK calls).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from modelport.specs.errors import ConfigError, unknown_key_message
from modelport.specs.fields import (
    AKS,
    BY_KEY,
    BY_NAME,
    COMPUTE_TYPES,
    DICT_PARAMS,
    SCHEMA_OF,
    Field,
    Support,
    compute_types_accepting,
    fields_for,
)

_AUTOSCALE_SETTINGS = (
    "autoscale_min_replicas",
    "autoscale_max_replicas",
    "autoscale_refresh_seconds",
    "autoscale_target_utilization",
)


@dataclass(frozen=True)
class DeploymentConfig:
    """A validated deployment configuration.

    ``explicit`` holds only what the user set (so updates and round trips keep "unset" apart from
    "set to the default"); attribute access (``config.cpu_cores``) gives the resolved value.
    """

    compute_type: str
    explicit: Mapping[str, Any] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)
    properties: Mapping[str, str] = field(default_factory=dict)
    warnings: tuple[str, ...] = field(default=(), compare=False)

    def __getattr__(self, name: str) -> Any:
        spec = BY_NAME.get(name)
        if spec is None or not spec.accepts(self.compute_type):
            raise AttributeError(f"{self.compute_type} deployment configuration has no {name!r}")
        return self.value(spec)

    def value(self, spec: Field) -> Any:
        if spec.name in self.explicit:
            return self.explicit[spec.name]
        if spec.name == "autoscale_enabled":
            return self.explicit.get("num_replicas") is None
        return spec.default_for(self.compute_type)

    def values(self) -> dict[str, Any]:
        """Every field of this compute type with its resolved value, by SDK parameter name."""
        return {f.name: self.value(f) for f in fields_for(self.compute_type)}

    def to_json(self, include_defaults: bool = False) -> dict[str, Any]:
        """The v1 camelCase JSON form (what a deploymentconfig.json would hold)."""
        out: dict[str, Any] = {"computeType": self.compute_type}
        for spec in fields_for(self.compute_type):
            if spec.name in self.explicit or include_defaults:
                _put(out, spec.key, self.value(spec))
        for name in DICT_PARAMS:
            if getattr(self, name):
                out[name] = dict(getattr(self, name))
        return out

    @classmethod
    def from_json(cls, data: Any, source: str | None = None) -> DeploymentConfig:
        return parse_deployment_config(data, source)

    def updated(self, other: DeploymentConfig) -> DeploymentConfig:
        """This configuration with the values ``other`` sets explicitly laid over it."""
        if SCHEMA_OF[other.compute_type] != SCHEMA_OF[self.compute_type]:
            return other
        merged = {**self.explicit, **other.explicit}
        return _finish(
            other.compute_type,
            merged,
            {**self.tags, **other.tags},
            {**self.properties, **other.properties},
            _param_label,
        )


def _put(out: dict[str, Any], key: str, value: Any) -> None:
    *parents, leaf = key.split(".")
    node = out
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value


def normalize_compute_type(value: Any, label: str = "computeType") -> str:
    if value is None or value == "":
        raise ConfigError([f"Need to specify {label} (one of {', '.join(COMPUTE_TYPES)})"])
    if isinstance(value, str):
        for known in COMPUTE_TYPES:
            if known.lower() == value.strip().lower():
                return known
    raise ConfigError(
        [f"{label} {value!r} is not supported; allowed: {', '.join(COMPUTE_TYPES)} (any case)"]
    )


def _key_label(spec: Field) -> str:
    return spec.key


def _param_label(spec: Field) -> str:
    return spec.name


# --- files and stored JSON -------------------------------------------------------------------


def parse_deployment_config(data: Any, source: str | None = None) -> DeploymentConfig:
    """Validate a v1 deployment configuration (parsed JSON/YAML) into a DeploymentConfig."""
    if not isinstance(data, Mapping):
        raise ConfigError(["a deployment configuration must be a JSON/YAML object"], source)
    try:
        compute_type = normalize_compute_type(data.get("computeType"))
    except ConfigError as exc:
        said = exc.problems
        miscased = [str(k) for k in data if str(k).lower() == "computetype" and k != "computeType"]
        if miscased:  # `computetype`: say which key was meant, not only that one is missing
            said = [unknown_key_message(miscased[0], ["computeType"], "the file")]
        raise ConfigError(said, source) from None
    problems: list[str] = []
    notes: list[str] = []
    values: dict[str, Any] = {}
    dicts: dict[str, dict[str, str]] = {}
    _walk(data, "", compute_type, values, dicts, problems, notes)
    try:
        config = _finish(
            compute_type, values, dicts.get("tags", {}), dicts.get("properties", {}), _key_label
        )
    except ConfigError as exc:
        raise ConfigError(problems + exc.problems, source) from None
    if problems:
        raise ConfigError(problems, source)
    return replace(config, warnings=(*config.warnings, *notes)) if notes else config


def _walk(
    node: Mapping[str, Any],
    prefix: str,
    compute_type: str,
    values: dict[str, Any],
    dicts: dict[str, dict[str, str]],
    problems: list[str],
    notes: list[str],
) -> None:
    accepted = fields_for(compute_type)
    keys = {f.key for f in accepted}
    groups = {f.key.rsplit(".", 1)[0] for f in accepted if "." in f.key}
    for raw_key, value in node.items():
        key = f"{prefix}{raw_key}"
        if key == "computeType":
            continue
        if key in keys:
            if value is not None:
                values[BY_KEY[key].name] = value
        elif key in groups:
            if value is None:
                continue
            if not isinstance(value, Mapping):
                problems.append(f"{key} must be an object")
                continue
            _walk(value, f"{key}.", compute_type, values, dicts, problems, notes)
        elif not prefix and key in DICT_PARAMS:
            if value is None:
                continue
            checked = _check_str_dict(key, value, problems)
            if checked is not None:
                dicts[key] = checked
        elif _is_v1_key(key) and not (key in _REFUSED_ELSEWHERE and value):
            # v1's CLI read a file's keys by compute type and passed over the rest silently
            notes.append(
                f"{key} is accepted but ignored: v1 reads it only for "
                f"{', '.join(_v1_types(key))} deployments, not computeType '{compute_type}'"
            )
        else:
            problems.append(_unknown(key, prefix, compute_type, keys | groups))


# ignoring these where they do not apply would leave a service open that was meant to be closed
_REFUSED_ELSEWHERE = ("tokenAuthEnabled",)
# keys of v1's AKS endpoint deployments (AksEndpoint), a compute type modelport does not offer
_V1_ENDPOINT_KEYS = ("versionName", "trafficPercentile")


def _is_v1_key(key: str) -> bool:
    known = key in BY_KEY or any(k.startswith(key + ".") for k in BY_KEY)
    return known or key in _V1_ENDPOINT_KEYS


def _v1_types(key: str) -> list[str]:
    if key in _V1_ENDPOINT_KEYS:
        return ["AKS endpoint"]
    return compute_types_accepting(BY_KEY[key]) if key in BY_KEY else _group_types(key)


def _unknown(key: str, prefix: str, compute_type: str, valid: set[str]) -> str:
    other = BY_KEY.get(key)
    other_group = any(k.startswith(key + ".") for k in BY_KEY)
    if other is not None or other_group:
        applies = compute_types_accepting(other) if other else _group_types(key)
        return (
            f"key '{key}' is not accepted for computeType '{compute_type}' "
            f"(it applies to {', '.join(applies)})"
        )
    candidates = {k for k in valid if k.startswith(prefix)} if prefix else valid
    if not prefix:
        candidates |= set(DICT_PARAMS) | {"computeType"}
    return unknown_key_message(key, candidates, f"the {compute_type} deployment configuration")


def _group_types(group: str) -> list[str]:
    types: list[str] = []
    for spec in BY_KEY.values():
        if spec.key.startswith(group + "."):
            types += [t for t in compute_types_accepting(spec) if t not in types]
    return types


def _check_str_dict(label: str, value: Any, problems: list[str]) -> dict[str, str] | None:
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        problems.append(f"{label} must be an object of string keys and string values")
        return None
    return dict(value)


# --- shared validation ----------------------------------------------------------------------


def _finish(
    compute_type: str,
    values: Mapping[str, Any],
    tags: Mapping[str, str],
    properties: Mapping[str, str],
    label: Callable[[Field], str],
) -> DeploymentConfig:
    problems: list[str] = []
    warnings: list[str] = []
    checked: dict[str, Any] = {}
    for name, raw in values.items():
        spec = BY_NAME[name]
        value = _check_value(spec, raw, label(spec), problems)
        if value is None:
            continue
        checked[name] = value
        if spec.support is Support.REFUSED and value:
            problems.append(f"{label(spec)}: {spec.refused_reason}")
        elif spec.support is Support.IGNORED and value != spec.default_for(compute_type):
            warnings.append(f"{label(spec)} is accepted but modelport does not act on it yet")
    config = DeploymentConfig(compute_type, checked, dict(tags), dict(properties))
    if not problems:
        problems += _cross_field_problems(config, label)
    if problems:
        raise ConfigError(problems)
    return DeploymentConfig(
        compute_type, checked, dict(tags), dict(properties), warnings=tuple(warnings)
    )


def _check_value(spec: Field, raw: Any, label: str, problems: list[str]) -> Any:
    # A secret (a key) is never echoed: error messages reach terminals, CI logs and server logs.
    shown = "a value that is not shown because it is secret" if spec.secret else repr(raw)
    bad = f"{label} must be {spec.allowed()} (got {shown})"
    if spec.type is bool:
        if not isinstance(raw, bool):
            problems.append(bad)
            return None
        return raw
    if spec.type is str:
        if not isinstance(raw, str) or not raw.strip():
            problems.append(bad)
            return None
        too_long = spec.max_length is not None and len(raw) > spec.max_length
        if too_long or (spec.pattern and not re.fullmatch(spec.pattern, raw)):
            problems.append(bad)
            return None
        return raw
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
        problems.append(bad)
        return None
    if spec.type is int:
        if isinstance(raw, float) and not raw.is_integer():
            problems.append(bad)
            return None
        raw = int(raw)
    else:
        raw = float(raw)
    too_low = (spec.positive and raw <= 0) or (spec.minimum is not None and raw < spec.minimum)
    too_high = spec.maximum is not None and raw > spec.maximum
    if too_low or too_high:
        problems.append(bad)
        return None
    return raw


def _cross_field_problems(config: DeploymentConfig, label: Callable[[Field], str]) -> list[str]:
    def lab(name: str) -> str:
        return label(BY_NAME[name])

    problems: list[str] = []
    if config.auth_enabled and getattr(config, "token_auth_enabled", False):
        problems.append(
            f"{lab('auth_enabled')} and {lab('token_auth_enabled')} cannot both be true: "
            "choose key auth or token auth"
        )
    if config.ssl_enabled and not (config.ssl_cert_pem_file and config.ssl_key_pem_file):
        problems.append(
            f"{lab('ssl_enabled')} is true: set {lab('ssl_cert_pem_file')} and "
            f"{lab('ssl_key_pem_file')} (PEM files)"
        )
    limit_pairs = (("cpu_cores", "cpu_cores_limit"), ("memory_gb", "memory_gb_limit"))
    for base, limit in limit_pairs:
        floor = config.values()[base]
        if limit in config.explicit and floor is not None and config.explicit[limit] < floor:
            problems.append(f"{lab(limit)} must be ≥ {lab(base)}")
    if SCHEMA_OF[config.compute_type] != AKS:
        return problems
    enabled = config.autoscale_enabled
    replicas = config.explicit.get("num_replicas")
    if enabled and replicas is not None:
        problems.append(
            f"autoscale enabled and num_replicas provided: set {lab('num_replicas')} "
            f"or {lab('autoscale_enabled')}, not both"
        )
    if not enabled and replicas is None:
        problems.append(
            f"autoscale disabled but num_replicas not provided: set {lab('num_replicas')}"
        )
    given = [n for n in _AUTOSCALE_SETTINGS if n in config.explicit]
    if not enabled and given:
        problems.append(
            f"autoscale settings provided but autoscale disabled: {', '.join(map(lab, given))}"
        )
    if config.autoscale_min_replicas > config.autoscale_max_replicas:
        problems.append(
            f"{lab('autoscale_min_replicas')} ({config.autoscale_min_replicas}) must be ≤ "
            f"{lab('autoscale_max_replicas')} ({config.autoscale_max_replicas})"
        )
    return problems


# --- SDK factories ---------------------------------------------------------------------------


def build_from_params(compute_type: str, params: Mapping[str, Any]) -> DeploymentConfig:
    """Validate SDK keyword arguments (``cpu_cores=…``) for ``compute_type``."""
    problems: list[str] = []
    accepted = {f.name for f in fields_for(compute_type)}
    values: dict[str, Any] = {}
    for name, value in params.items():
        if name in DICT_PARAMS:
            continue
        if name not in accepted:
            problems.append(
                unknown_key_message(
                    name, accepted | set(DICT_PARAMS), f"{compute_type} deploy_configuration()"
                ).replace("unknown key", "unknown parameter")
            )
        elif value is not None:
            values[name] = value
    dicts: dict[str, dict[str, str]] = {}
    for name in DICT_PARAMS:
        if params.get(name) is not None:
            checked = _check_str_dict(name, params[name], problems)
            if checked is not None:
                dicts[name] = checked
    if problems:
        raise ConfigError(problems)
    return _finish(
        compute_type, values, dicts.get("tags", {}), dicts.get("properties", {}), _param_label
    )
