"""SDK factories (``LocalWebservice.deploy_configuration`` …) generated from the field table."""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable
from typing import Any

from modelport.specs.deployment import DeploymentConfig, build_from_params
from modelport.specs.errors import ConfigWarning
from modelport.specs.fields import ACI, AKS, DICT_PARAMS, KUBERNETES, LOCAL, Support, fields_for

# Parameters that may be given positionally, in the v1 SDK's order; all others are keyword-only.
_POSITIONAL = {LOCAL: ("port",), ACI: ("cpu_cores", "memory_gb"), AKS: (), KUBERNETES: ()}


def make_deploy_configuration(compute_type: str) -> Callable[..., DeploymentConfig]:
    """Build ``deploy_configuration(**params)`` whose signature and docstring come from FIELDS."""
    specs = fields_for(compute_type)
    positional = _POSITIONAL[compute_type]
    ordered = sorted(specs, key=lambda f: positional.index(f.name) if f.name in positional else 99)
    parameters = [
        inspect.Parameter(
            f.name,
            inspect.Parameter.POSITIONAL_OR_KEYWORD
            if f.name in positional
            else inspect.Parameter.KEYWORD_ONLY,
            default=f.default_for(compute_type),
            annotation=f"{f.type.__name__} | None",
        )
        for f in ordered
    ]
    parameters += [
        inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, default=None, annotation="dict | None")
        for n in DICT_PARAMS
    ]
    signature = inspect.Signature(parameters, return_annotation="DeploymentConfig")

    def deploy_configuration(*args: Any, **kwargs: Any) -> DeploymentConfig:
        if len(args) > len(positional):
            raise TypeError(
                f"deploy_configuration() takes at most {len(positional)} positional arguments"
            )
        params = dict(zip(positional, args, strict=False))
        for name, value in kwargs.items():
            if name in params:
                raise TypeError(f"deploy_configuration() got multiple values for {name!r}")
            params[name] = value
        config = build_from_params(compute_type, params)
        for message in config.warnings:
            warnings.warn(message, ConfigWarning, stacklevel=2)
        return config

    lines = [f"Deployment configuration for computeType {compute_type!r}.", ""]
    for f in ordered:
        note = "" if f.support is Support.ACTED else f" [modelport: {f.support.value}]"
        lines.append(f"{f.name} ({f.key}): {f.help}{note}")
    deploy_configuration.__doc__ = "\n".join(lines)
    deploy_configuration.__signature__ = signature  # type: ignore[attr-defined]
    deploy_configuration.__qualname__ = "deploy_configuration"
    return deploy_configuration
