"""Deployment configuration fields, declared once as data.

This table drives the SDK factory signatures (``LocalWebservice.deploy_configuration``), the
JSON/YAML parser, the validation messages and the table in docs/configuration.md. Add a field here
and every one of those follows.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# Canonical compute types (the value of ``computeType``, matched case-insensitively).
LOCAL = "local"
ACI = "ACI"
AKS = "AKS"
KUBERNETES = "kubernetes"
COMPUTE_TYPES = (LOCAL, ACI, AKS, KUBERNETES)
# kubernetes files use the AKS schema
SCHEMA_OF = {LOCAL: LOCAL, ACI: ACI, AKS: AKS, KUBERNETES: AKS}


class Support(enum.Enum):
    """What modelport does with a field today."""

    ACTED = "yes"  # the target of the compute type acts on it (local or kubernetes)
    IGNORED = "warns"  # accepted with a warning naming it
    REFUSED = "error if set"  # ignoring it would surprise: a truthy value is an error


@dataclass(frozen=True)
class Field:
    """One deployment-configuration field."""

    name: str  # SDK parameter name
    key: str  # JSON key path, dots for nesting
    type: type  # bool, int, float or str
    defaults: Mapping[str, Any]  # compute type -> default; only the types that accept the field
    help: str
    support: Support = Support.ACTED
    minimum: float | None = None  # inclusive
    positive: bool = False  # strictly > 0
    maximum: float | None = None  # inclusive
    pattern: str | None = None
    pattern_help: str = ""
    max_length: int | None = None
    secret: bool = False
    refused_reason: str = ""

    def accepts(self, compute_type: str) -> bool:
        return SCHEMA_OF[compute_type] in self.defaults

    def default_for(self, compute_type: str) -> Any:
        return self.defaults[SCHEMA_OF[compute_type]]

    def allowed(self) -> str:
        """Human description of the allowed values, used in messages and docs."""
        if self.type is bool:
            return "true or false"
        if self.type is str:
            if self.pattern_help:
                return self.pattern_help
            return "a non-empty string"
        kind = "an integer" if self.type is int else "a number"
        lo, hi = self.minimum, self.maximum
        if self.positive:
            return f"{kind} > 0"
        if lo is not None and hi is not None:
            return f"{kind} from {_num(lo)} to {_num(hi)}"
        if lo is not None:
            return f"{kind} ≥ {_num(lo)}"
        return kind


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _d(
    local: Any = ..., aci: Any = ..., aks: Any = ...
) -> dict[str, Any]:  # defaults per schema, ... = not accepted
    pairs = {LOCAL: local, ACI: aci, AKS: aks}
    return {k: v for k, v in pairs.items() if v is not ...}


_NAMESPACE_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
_CMK_REFUSED = (
    "customer-managed key encryption is not available in modelport; remove vaultBaseUrl, keyName "
    "and keyVersion (ignoring them would store data encrypted differently than asked)"
)
_IGN = Support.IGNORED

# fmt: off
FIELDS: tuple[Field, ...] = (
    # where the service listens (local target)
    Field("port", "port", int, _d(None, None),
          "Port the service listens on; unset picks a free one.", minimum=1, maximum=65535),
    # replicas and resources
    Field("num_replicas", "numReplicas", int, _d(1, 1, None),
          "Replicas. Local/ACI: they share the port (SO_REUSEPORT). AKS: unset turns the autoscaler on.",
          minimum=1),
    Field("cpu_cores", "containerResourceRequirements.cpu", float, _d(None, 0.1, 0.1),
          "CPU cores per replica; enforced as a CFS quota (cgroup v2 or v1 cpu, where writable), "
          "else CPU affinity to ceil(cpu) cores.",
          positive=True),
    Field("memory_gb", "containerResourceRequirements.memoryInGB", float, _d(None, 0.5, 0.5),
          "Memory per replica in GB; enforced by the cgroup memory controller (v2 or v1, where "
          "writable), else by an RSS watchdog; over it, the replica is OOMKilled.", positive=True),
    Field("cpu_cores_limit", "containerResourceRequirements.cpuLimit", float, _d(aks=None),
          "Maximum CPU cores per replica (the container's cpu limit).", positive=True),
    Field("memory_gb_limit", "containerResourceRequirements.memoryInGBLimit", float, _d(aks=None),
          "Maximum memory per replica in GB (the container's memory limit).", positive=True),
    Field("gpu_cores", "gpuCores", int, _d(aks=None),
          "GPUs per replica (an nvidia.com/gpu limit); unset asks for none.", minimum=0),
    # request handling inside each replica
    Field("replica_max_concurrent_requests", "maxConcurrentRequestsPerContainer", int, _d(1, 1, 1),
          "Requests in flight per replica; more wait in the replica's queue.", minimum=1),
    Field("max_request_wait_time", "maxQueueWaitMs", int, _d(500, 500, 500),
          "Milliseconds a request may wait in the queue before a 503.", minimum=1),
    Field("scoring_timeout_ms", "scoringTimeoutMs", int, _d(60000, 60000, 60000),
          "Milliseconds a run() call may take before the request fails with a timeout.", minimum=1),
    # liveness probe (local defaults are short: replicas start in seconds here)
    Field("period_seconds", "livenessProbeRequirements.periodSeconds", int, _d(5, 5, 10),
          "Seconds between liveness probes.", minimum=1),
    Field("initial_delay_seconds", "livenessProbeRequirements.initialDelaySeconds", int, _d(0, 0, 310),
          "Seconds after start before liveness probe failures count.", minimum=0),
    Field("timeout_seconds", "livenessProbeRequirements.timeoutSeconds", int, _d(2, 2, 2),
          "Seconds a liveness probe may take.", minimum=1),
    Field("success_threshold", "livenessProbeRequirements.successThreshold", int, _d(1, 1, 1),
          "Consecutive successes that clear earlier probe failures.", minimum=1),
    Field("failure_threshold", "livenessProbeRequirements.failureThreshold", int, _d(3, 3, 3),
          "Consecutive failures after which the replica is restarted.", minimum=1),
    # auth
    Field("auth_enabled", "authEnabled", bool, _d(False, False, True),
          "Key auth: requests need `Authorization: Bearer <key>`."),
    Field("token_auth_enabled", "tokenAuthEnabled", bool, _d(False, aks=False),
          "Token auth (tokens from the workspace server); not together with authEnabled."),
    Field("primary_key", "keys.primaryKey", str, _d(None, None, None),
          "Primary key; generated if absent.", secret=True),
    Field("secondary_key", "keys.secondaryKey", str, _d(None, None, None),
          "Secondary key; generated if absent.", secret=True),
    # TLS: the client reads the PEM files and sends their text; the server stores the key encrypted
    Field("ssl_enabled", "sslEnabled", bool, _d(False, False, False),
          "Serve HTTPS (TLS 1.2 minimum) with sslCertificate and sslKey; scoringUri becomes https://."),
    Field("ssl_cert_pem_file", "sslCertificate", str, _d(None, None, None),
          "PEM certificate file (full chain); a relative path starts at the configuration file's folder."),
    Field("ssl_key_pem_file", "sslKey", str, _d(None, None, None),
          "PEM private key file of sslCertificate; stored encrypted, never shown.", secret=True),
    Field("ssl_cname", "cname", str, _d(None, None, None),
          "Host name in the https:// scoring URI (else 127.0.0.1); the certificate should name it."),
    # autoscaler (AKS)
    Field("autoscale_enabled", "autoScaler.autoscaleEnabled", bool, _d(aks=None),
          "Autoscaling (a HorizontalPodAutoscaler); true when numReplicas is unset."),
    Field("autoscale_min_replicas", "autoScaler.minReplicas", int, _d(aks=1),
          "Fewest replicas the autoscaler keeps.", minimum=1),
    Field("autoscale_max_replicas", "autoScaler.maxReplicas", int, _d(aks=10),
          "Most replicas the autoscaler starts.", minimum=1),
    Field("autoscale_refresh_seconds", "autoScaler.refreshPeriodInSeconds", int, _d(aks=1),
          "Seconds between autoscaler decisions (the HPA's scale-up window).", minimum=1),
    Field("autoscale_target_utilization", "autoScaler.targetUtilization", int, _d(aks=70),
          "Busy-replica percentage the autoscaler aims for (docs/kubernetes.md: how it maps).",
          minimum=1, maximum=100),
    # Azure-only placement, monitoring and networking
    Field("location", "location", str, _d(aci=None), "Azure region.", _IGN),
    Field("dns_name_label", "dnsNameLabel", str, _d(aci=None), "DNS label of the endpoint.", _IGN),
    Field("enable_app_insights", "appInsightsEnabled", bool, _d(False, False, False),
          "Request telemetry (requests, traces, exceptions) reported to the workspace server, "
          "as Application Insights did; see docs/observe.md."),
    Field("collect_model_data", "dataCollection.storageEnabled", bool, _d(False, False, False),
          "ModelDataCollector rows stored under modeldata/ in the artifact store; see "
          "docs/observe.md."),
    Field("cmk_vault_base_url", "vaultBaseUrl", str, _d(aci=None), "Customer-managed key vault URL.",
          Support.REFUSED, refused_reason=_CMK_REFUSED),
    Field("cmk_key_name", "keyName", str, _d(aci=None), "Customer-managed key name.",
          Support.REFUSED, refused_reason=_CMK_REFUSED),
    Field("cmk_key_version", "keyVersion", str, _d(aci=None), "Customer-managed key version.",
          Support.REFUSED, refused_reason=_CMK_REFUSED),
    Field("vnet_name", "vnetName", str, _d(aci=None), "Virtual network.", _IGN),
    Field("subnet_name", "subnetName", str, _d(aci=None), "Subnet.", _IGN),
    Field("namespace", "namespace", str, _d(aks=None),
          "Kubernetes namespace; unset uses the attached target's.",
          pattern=_NAMESPACE_PATTERN, max_length=63,
          pattern_help="up to 63 of a-z, 0-9 and '-', not starting or ending with '-'"),
    Field("compute_target_name", "computeTargetName", str, _d(aks=None),
          "Attached Kubernetes target to deploy to; unset uses the only one attached."),
    # bookkeeping (an SDK parameter, also accepted in files)
    Field("description", "description", str, _d(None, None, None), "Free text."),
)
# fmt: on

BY_NAME: Mapping[str, Field] = {f.name: f for f in FIELDS}
BY_KEY: Mapping[str, Field] = {f.key: f for f in FIELDS}
# Dict-valued SDK-only parameters: not part of the file schema's typed fields.
DICT_PARAMS = ("tags", "properties")


def fields_for(compute_type: str) -> tuple[Field, ...]:
    return tuple(f for f in FIELDS if f.accepts(compute_type))


def compute_types_accepting(field: Field) -> list[str]:
    return [c for c in (LOCAL, ACI, AKS) if c in field.defaults]
