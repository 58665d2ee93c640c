"""A service revision as Kubernetes objects: Secret, Deployment, Service, HorizontalPodAutoscaler.

Pure functions over lightkube's typed models: the same objects are server-side applied by the
driver and printed by ``modelport service export --format kubernetes`` for GitOps.

How v1's fields land (docs/kubernetes.md has the full table):
- replicas: ``numReplicas`` → ``spec.replicas``; with the autoscaler on, the HPA owns the count
  and the Deployment leaves ``replicas`` unset (so an apply never fights the HPA).
- ``containerResourceRequirements`` → requests (cpu, memoryInGB) and limits (cpuLimit,
  memoryInGBLimit); ``gpuCores`` → an ``nvidia.com/gpu`` limit.
- ``livenessProbeRequirements`` → the liveness probe on ``GET /``; a readiness probe on the same
  route keeps a pod out of the Service until init() has finished.
- ``scoringTimeoutMs``, ``maxConcurrentRequestsPerContainer``, ``maxQueueWaitMs`` → the inference
  server's ``MODELPORT_*`` variables, as for local replicas.
- keys/tokens → a Secret holding the auth file (key hashes, or the token secret), mounted
  read-only and named by ``MODELPORT_AUTH_FILE``.
- updates roll with ``maxUnavailable: 0`` so the old pods serve until new ones are ready.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from lightkube import codecs
from lightkube.core.resource import NamespacedResource
from lightkube.models.apps_v1 import DeploymentSpec, DeploymentStrategy, RollingUpdateDeployment
from lightkube.models.autoscaling_v2 import (
    CrossVersionObjectReference,
    HorizontalPodAutoscalerBehavior,
    HorizontalPodAutoscalerSpec,
    HPAScalingPolicy,
    HPAScalingRules,
    MetricSpec,
    MetricTarget,
    ResourceMetricSource,
)
from lightkube.models.core_v1 import (
    Container,
    ContainerPort,
    EnvVar,
    HTTPGetAction,
    LocalObjectReference,
    PodSecurityContext,
    PodSpec,
    PodTemplateSpec,
    Probe,
    ResourceRequirements,
    SecretVolumeSource,
    SecurityContext,
    ServicePort,
    ServiceSpec,
    Volume,
    VolumeMount,
)
from lightkube.models.meta_v1 import LabelSelector, ObjectMeta
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.autoscaling_v2 import HorizontalPodAutoscaler
from lightkube.resources.core_v1 import Secret, Service

from modelport.specs.deployment import DeploymentConfig
from modelport.targets.from_config import serving_env

IMAGE_PORT = 5001  # package images listen where v1's images did
SERVICE_PORT = 80  # the in-cluster port clients use (v1's scoring URIs were on :80)
AUTH_DIR = "/var/run/modelport/auth"
AUTH_FILE = "auth.json"
APP_UID = 10001  # the package image's non-root user
FIELD_MANAGER = "modelport"
# scale down only after load has stayed low this long (v1's router was "conservative, ~1 min")
SCALE_DOWN_WINDOW_SECONDS = 60
READINESS_PERIOD_SECONDS = 2
LABEL_SERVICE = "modelport.io/service"
LABEL_WORKSPACE = "modelport.io/workspace"
LABEL_REVISION = "modelport.io/revision"
_LABEL_VALUE = re.compile(r"[^A-Za-z0-9._-]")


@dataclass(frozen=True)
class KubeService:
    """One revision of one service, as the cluster should run it."""

    name: str  # the service name: a DNS label already (^[a-z]([-a-z0-9]*[a-z0-9])?$, ≤ 32)
    workspace: str
    revision: int
    image: str
    config: DeploymentConfig
    namespace: str = "default"
    auth_document: Mapping[str, Any] | None = None  # modelport.server.deploy.auth's file
    env: Mapping[str, str] = field(default_factory=dict)
    image_pull_secrets: Sequence[str] = ()

    @property
    def labels(self) -> dict[str, str]:
        return {
            "app.kubernetes.io/name": self.name,
            "app.kubernetes.io/managed-by": "modelport",
            LABEL_SERVICE: self.name,
            LABEL_WORKSPACE: label_value(self.workspace),
        }

    @property
    def selector(self) -> dict[str, str]:
        return {LABEL_SERVICE: self.name, LABEL_WORKSPACE: label_value(self.workspace)}

    @property
    def secret_name(self) -> str:
        return f"{self.name}-auth"


def label_value(text: str) -> str:
    """A label value (≤ 63 of ``[A-Za-z0-9._-]``, alphanumeric at both ends) for any name."""
    value = _LABEL_VALUE.sub("-", text)[:63].strip("-._")
    return value or "x"


def render(ks: KubeService) -> list[NamespacedResource]:
    """Objects in apply order: the Secret first (pods mount it), the HPA last (it targets the
    Deployment)."""
    objects: list[NamespacedResource] = []
    if ks.auth_document is not None:
        objects.append(secret(ks))
    objects += [deployment(ks), service(ks)]
    if ks.config.autoscale_enabled:
        objects.append(autoscaler(ks))
    return objects


def to_yaml(objects: Sequence[NamespacedResource]) -> str:
    return str(codecs.dump_all_yaml(list(objects)))  # type: ignore[arg-type]


def to_dicts(objects: Sequence[NamespacedResource]) -> list[dict[str, Any]]:
    return [obj.to_dict() for obj in objects]  # type: ignore[attr-defined]


def _meta(ks: KubeService, name: str | None = None) -> ObjectMeta:
    return ObjectMeta(name=name or ks.name, namespace=ks.namespace, labels=ks.labels)


def secret(ks: KubeService) -> Secret:
    doc = json.dumps(dict(ks.auth_document or {}), sort_keys=True)
    return Secret(metadata=_meta(ks, ks.secret_name), type="Opaque", stringData={AUTH_FILE: doc})


def _quantity_gb(value: float) -> str:
    # Mi, rounded up: "0.5" GB becomes "512Mi" (what kubectl shows), never a fraction of a byte
    return f"{math.ceil(value * 1024)}Mi"


def _cores(value: float) -> str:
    return f"{math.ceil(value * 1000)}m"


def resources(config: DeploymentConfig) -> ResourceRequirements:
    requests = {"cpu": _cores(config.cpu_cores), "memory": _quantity_gb(config.memory_gb)}
    limits: dict[str, str] = {}
    if config.cpu_cores_limit is not None:
        limits["cpu"] = _cores(config.cpu_cores_limit)
    if config.memory_gb_limit is not None:
        limits["memory"] = _quantity_gb(config.memory_gb_limit)
    if config.gpu_cores:
        limits["nvidia.com/gpu"] = str(config.gpu_cores)
    return ResourceRequirements(requests=requests, limits=limits or None)


def probes(config: DeploymentConfig) -> tuple[Probe, Probe]:
    """(liveness, readiness): liveness exactly as v1's livenessProbeRequirements; readiness
    frequent, so a new pod joins the Service as soon as init() is done."""
    get = HTTPGetAction(path="/", port="http")
    liveness = Probe(
        httpGet=get,
        periodSeconds=config.period_seconds,
        initialDelaySeconds=config.initial_delay_seconds,
        timeoutSeconds=config.timeout_seconds,
        successThreshold=1,  # Kubernetes requires 1 for liveness; v1's value applies to readiness
        failureThreshold=config.failure_threshold,
    )
    readiness = Probe(
        httpGet=get,
        periodSeconds=READINESS_PERIOD_SECONDS,
        timeoutSeconds=config.timeout_seconds,
        successThreshold=config.success_threshold,
        failureThreshold=3,
    )
    return liveness, readiness


def container(ks: KubeService) -> Container:
    env = {
        **ks.env,
        **serving_env(ks.config),
        "MODELPORT_PORT": str(IMAGE_PORT),
        "SERVICE_NAME": ks.name,
    }
    mounts: list[VolumeMount] | None = None
    if ks.auth_document is not None:
        env["MODELPORT_AUTH_FILE"] = f"{AUTH_DIR}/{AUTH_FILE}"
        mounts = [VolumeMount(name="auth", mountPath=AUTH_DIR, readOnly=True)]
    liveness, readiness = probes(ks.config)
    return Container(
        name="inference",
        image=ks.image,
        ports=[ContainerPort(name="http", containerPort=IMAGE_PORT, protocol="TCP")],
        env=[EnvVar(name=k, value=v) for k, v in sorted(env.items())],
        resources=resources(ks.config),
        livenessProbe=liveness,
        readinessProbe=readiness,
        volumeMounts=mounts,
        securityContext=SecurityContext(allowPrivilegeEscalation=False, runAsNonRoot=True),
    )


def deployment(ks: KubeService) -> Deployment:
    volumes = None
    if ks.auth_document is not None:
        # optional: false spelled out (the default): podman kube play 4.3 crashes without it
        secret = SecretVolumeSource(secretName=ks.secret_name, optional=False)
        volumes = [Volume(name="auth", secret=secret)]
    # in-flight requests finish before a pod is killed: the longest run() plus a margin
    grace = math.ceil(ks.config.scoring_timeout_ms / 1000) + 5
    template = PodTemplateSpec(
        metadata=ObjectMeta(labels={**ks.labels, LABEL_REVISION: str(ks.revision)}),
        spec=PodSpec(
            containers=[container(ks)],
            volumes=volumes,
            securityContext=PodSecurityContext(runAsUser=APP_UID, runAsNonRoot=True),
            terminationGracePeriodSeconds=grace,
            imagePullSecrets=[LocalObjectReference(name=n) for n in ks.image_pull_secrets] or None,
        ),
    )
    return Deployment(
        metadata=_meta(ks),
        spec=DeploymentSpec(
            replicas=None if ks.config.autoscale_enabled else ks.config.num_replicas,
            selector=LabelSelector(matchLabels=ks.selector),
            strategy=DeploymentStrategy(
                type="RollingUpdate",
                rollingUpdate=RollingUpdateDeployment(maxUnavailable=0, maxSurge=1),
            ),
            template=template,
        ),
    )


def service(ks: KubeService) -> Service:
    return Service(
        metadata=_meta(ks),
        spec=ServiceSpec(
            type="ClusterIP",
            selector=ks.selector,
            ports=[ServicePort(name="http", port=SERVICE_PORT, targetPort="http", protocol="TCP")],
        ),
    )


def autoscaler(ks: KubeService) -> HorizontalPodAutoscaler:
    """v1's utilisation autoscaler as an autoscaling/v2 HPA (docs/kubernetes.md).

    v1 scaled on busy replicas / replicas against ``targetUtilization``; a busy replica of a
    CPU-bound run() uses its CPU request, so the HPA targets that percentage of the CPU request.
    Scale-up is immediate and may double every ``refreshPeriodInSeconds``; scale-down waits
    for a minute of low load, as v1's router did.
    """
    config = ks.config
    period = max(1, int(config.autoscale_refresh_seconds))
    return HorizontalPodAutoscaler(
        metadata=_meta(ks),
        spec=HorizontalPodAutoscalerSpec(
            scaleTargetRef=CrossVersionObjectReference(
                apiVersion="apps/v1", kind="Deployment", name=ks.name
            ),
            minReplicas=config.autoscale_min_replicas,
            maxReplicas=config.autoscale_max_replicas,
            metrics=[
                MetricSpec(
                    type="Resource",
                    resource=ResourceMetricSource(
                        name="cpu",
                        target=MetricTarget(
                            type="Utilization",
                            averageUtilization=config.autoscale_target_utilization,
                        ),
                    ),
                )
            ],
            behavior=HorizontalPodAutoscalerBehavior(
                scaleUp=HPAScalingRules(
                    stabilizationWindowSeconds=0,
                    policies=[HPAScalingPolicy(type="Percent", value=100, periodSeconds=period)],
                ),
                scaleDown=HPAScalingRules(stabilizationWindowSeconds=SCALE_DOWN_WINDOW_SECONDS),
            ),
        ),
    )
