"""Web service classes by compute type (``from modelport.webservice import LocalWebservice``).

Each class carries its ``deploy_configuration`` factory, generated from the field table in
``modelport.specs.fields`` so the signature, defaults and validation match the config files.
The HTTP client behaviour (state, run, get_logs, update, delete) comes from
``modelport.sdk.webservice.Webservice``, which these classes subclass (the subclass registers
itself for its compute type).
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from modelport.sdk.webservice import Webservice
from modelport.specs.aks import make_aks_deploy_configuration
from modelport.specs.deployment import DeploymentConfig
from modelport.specs.factories import make_deploy_configuration
from modelport.specs.fields import ACI, AKS, KUBERNETES, LOCAL

__all__ = [
    "AciWebservice",
    "AksWebservice",
    "DeploymentConfig",
    "KubernetesWebservice",
    "LocalWebservice",
    "Webservice",
]


class LocalWebservice(Webservice):
    """A service on this machine (``computeType: local``)."""

    _compute_type = LOCAL
    deploy_configuration = staticmethod(make_deploy_configuration(LOCAL))


class AciWebservice(Webservice):
    """An ACI-style service: one resource-limited instance on this machine (``computeType: ACI``)."""

    _compute_type = ACI
    deploy_configuration = staticmethod(make_deploy_configuration(ACI))


class _KubernetesAttributes(Webservice):
    """v1's AksWebservice attributes, read from the service's deployment configuration."""

    def _values(self) -> dict[str, Any]:
        import warnings

        from modelport.specs.deployment import parse_deployment_config

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            config = parse_deployment_config(self.deployment_config or {"computeType": AKS})
        return config.values()

    @property
    def autoscaler(self) -> SimpleNamespace:
        v = self._values()
        return SimpleNamespace(
            autoscale_enabled=v["autoscale_enabled"],
            min_replicas=v["autoscale_min_replicas"],
            max_replicas=v["autoscale_max_replicas"],
            refresh_period_seconds=v["autoscale_refresh_seconds"],
            target_utilization=v["autoscale_target_utilization"],
        )

    @property
    def container_resource_requirements(self) -> SimpleNamespace:
        v = self._values()
        return SimpleNamespace(
            cpu=v["cpu_cores"],
            memory_in_gb=v["memory_gb"],
            cpu_limit=v["cpu_cores_limit"],
            memory_in_gb_limit=v["memory_gb_limit"],
        )

    @property
    def liveness_probe_requirements(self) -> SimpleNamespace:
        v = self._values()
        return SimpleNamespace(
            period_seconds=v["period_seconds"],
            initial_delay_seconds=v["initial_delay_seconds"],
            timeout_seconds=v["timeout_seconds"],
            success_threshold=v["success_threshold"],
            failure_threshold=v["failure_threshold"],
        )

    @property
    def data_collection(self) -> SimpleNamespace:
        return SimpleNamespace(storage_enabled=self._values()["collect_model_data"])

    @property
    def max_concurrent_requests_per_container(self) -> int:
        return int(self._values()["replica_max_concurrent_requests"])

    @property
    def max_request_wait_time(self) -> int:
        return int(self._values()["max_request_wait_time"])

    @property
    def scoring_timeout_ms(self) -> int:
        return int(self._values()["scoring_timeout_ms"])

    @property
    def namespace(self) -> str | None:
        value = self._values()["namespace"]
        return None if value is None else str(value)

    @property
    def compute_name(self) -> str | None:
        value = self._values()["compute_target_name"]
        return None if value is None else str(value)

    @property
    def enable_app_insights(self) -> bool:
        return bool(self._values()["enable_app_insights"])

    @property
    def gpu_cores(self) -> int | None:
        value = self._values()["gpu_cores"]
        return None if value is None else int(value)


class AksWebservice(_KubernetesAttributes):
    """A service on an attached Kubernetes cluster, configured as v1's AKS (``computeType: AKS``).

    Deploying needs a cluster attached with ``modelport target attach kubernetes`` (docs/kubernetes.md).
    """

    _compute_type = AKS
    deploy_configuration = staticmethod(make_aks_deploy_configuration(AKS))


class KubernetesWebservice(_KubernetesAttributes):
    """A service on an attached Kubernetes cluster (``computeType: kubernetes``, the AKS schema)."""

    _compute_type = KUBERNETES
    deploy_configuration = staticmethod(make_aks_deploy_configuration(KUBERNETES))
