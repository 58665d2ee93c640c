"""``AksWebservice.deploy_configuration``: the AKS factory, in v1's parameter order.

The fields, defaults and rules are the shared table (``specs/fields.py``) and its validation
(``specs/deployment.py``); this module only adds what the v1 AKS signature has beyond that table:
its positional order and ``blobfuse_enabled`` (an Azure storage mount option: accepted for
unchanged scripts, with a warning when set, since a Kubernetes cluster of one's own mounts
storage through its own volumes).
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable
from typing import Any

from modelport.specs.deployment import DeploymentConfig, build_from_params
from modelport.specs.errors import ConfigWarning
from modelport.specs.factories import make_deploy_configuration
from modelport.specs.fields import AKS, KUBERNETES, fields_for

# azureml.core.webservice.AksWebservice.deploy_configuration's parameters, in its order.
V1_ORDER = (
    "autoscale_enabled",
    "autoscale_min_replicas",
    "autoscale_max_replicas",
    "autoscale_refresh_seconds",
    "autoscale_target_utilization",
    "collect_model_data",
    "auth_enabled",
    "cpu_cores",
    "memory_gb",
    "enable_app_insights",
    "scoring_timeout_ms",
    "replica_max_concurrent_requests",
    "max_request_wait_time",
    "num_replicas",
    "primary_key",
    "secondary_key",
    "tags",
    "properties",
    "description",
    "gpu_cores",
    "period_seconds",
    "initial_delay_seconds",
    "timeout_seconds",
    "success_threshold",
    "failure_threshold",
    "namespace",
    "token_auth_enabled",
    "compute_target_name",
    "cpu_cores_limit",
    "memory_gb_limit",
    "blobfuse_enabled",
)
SDK_ONLY = ("blobfuse_enabled",)


def make_aks_deploy_configuration(compute_type: str = AKS) -> Callable[..., DeploymentConfig]:
    """``deploy_configuration(...)`` for AKS/kubernetes: v1's positional order, then the rest."""
    if compute_type not in (AKS, KUBERNETES):
        raise ValueError(f"not an AKS-schema compute type: {compute_type}")
    inner = make_deploy_configuration(compute_type)
    base = inspect.signature(inner).parameters
    known = {f.name for f in fields_for(compute_type)} | set(base) | set(SDK_ONLY)
    order = [n for n in V1_ORDER if n in known] + sorted(n for n in known if n not in V1_ORDER)

    def deploy_configuration(*args: Any, **kwargs: Any) -> DeploymentConfig:
        if len(args) > len(order):
            raise TypeError(f"deploy_configuration() takes at most {len(order)} arguments")
        params = dict(zip(order, args, strict=False))
        for name, value in kwargs.items():
            if name in params:
                raise TypeError(f"deploy_configuration() got multiple values for {name!r}")
            params[name] = value
        if params.pop("blobfuse_enabled", None):
            warnings.warn(
                "blobfuse_enabled is accepted but modelport does not act on it: mount storage "
                "with the cluster's own volumes",
                ConfigWarning,
                stacklevel=2,
            )
        config = build_from_params(compute_type, params)
        for message in config.warnings:
            warnings.warn(message, ConfigWarning, stacklevel=2)
        return config

    parameters = [
        base[n].replace(kind=inspect.Parameter.POSITIONAL_OR_KEYWORD)
        if n in base
        else inspect.Parameter(
            n, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None, annotation="bool | None"
        )
        for n in order
    ]
    deploy_configuration.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        parameters, return_annotation="DeploymentConfig"
    )
    deploy_configuration.__doc__ = (inner.__doc__ or "") + (
        "\nblobfuse_enabled: Azure blob storage mount (accepted, not acted on) [modelport: warns]"
    )
    deploy_configuration.__qualname__ = "deploy_configuration"
    return deploy_configuration
