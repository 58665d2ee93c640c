"""What the cluster reports → v1 service states and the local target's typed failure causes.

Pure functions over lightkube's typed models (a Deployment and its pods, plus the previous
container's log tail of pods that crashed), so each situation is tested with objects built
in memory:

- the Deployment is rolling out (``Progressing``)            → Transitioning
- every wanted pod of the current revision is ready          → Healthy
- a pod cannot be scheduled (``PodScheduled`` False,
  reason ``Unschedulable``: "0/3 nodes are available: …")    → Unschedulable (retried)
- the image cannot be pulled                                 → Failed, ImagePullFailed
- the container exits: code 3 → ImportFailed/InitFailed, crash loop → CrashLoop … (the
  local target's classifier reads the same exit codes and log lines)        → Failed
- any of these after the revision was serving                → Unhealthy
- ``ProgressDeadlineExceeded``                               → Failed, Timeout
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from lightkube.models.core_v1 import ContainerStatus
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import Pod

from modelport.targets.base import (
    CrashedAtStart,
    FailureCause,
    ObservedReplica,
    ObservedRevision,
    Unschedulable,
)
from modelport.targets.kubernetes.manifests import IMAGE_PORT, LABEL_REVISION
from modelport.targets.local.causes import classify, explaining_lines

TRANSITIONING, HEALTHY, UNHEALTHY, UNSCHEDULABLE, FAILED = (
    "Transitioning",
    "Healthy",
    "Unhealthy",
    "Unschedulable",
    "Failed",
)
# restarts after which a pod that never became ready counts as crash-looping (kubelet's
# CrashLoopBackOff says so as well)
CRASH_LOOP_AFTER = 3
IMAGE_PULL_REASONS = ("ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull")
CONFIG_REASONS = ("CreateContainerConfigError", "CreateContainerError", "RunContainerError")


class ImagePullFailed(FailureCause):
    """The cluster cannot pull the service's image (name, registry access or pull secret)."""

    code = "ImagePullFailed"


class Timeout(FailureCause):
    """The Deployment did not finish rolling out within its progress deadline."""

    code = "Timeout"


@dataclass(frozen=True)
class StateReport:
    """A v1 state and, when not Healthy/Transitioning, why."""

    state: str
    cause: FailureCause | None = None
    ready: int = 0
    desired: int = 0


def pod_name(pod: Pod) -> str:
    return (pod.metadata.name if pod.metadata else None) or ""


def pod_revision(pod: Pod) -> int:
    labels = (pod.metadata.labels or {}) if pod.metadata else {}
    try:
        return int(labels.get(LABEL_REVISION, "0"))
    except ValueError:
        return 0


def _container(pod: Pod) -> ContainerStatus | None:
    statuses = (pod.status.containerStatuses or []) if pod.status else []
    return statuses[0] if statuses else None


def is_ready(pod: Pod) -> bool:
    conditions = (pod.status.conditions or []) if pod.status else []
    return any(c.type == "Ready" and c.status == "True" for c in conditions)


def unschedulable(pod: Pod) -> Unschedulable | None:
    for c in (pod.status.conditions or []) if pod.status else []:
        if c.type == "PodScheduled" and c.status == "False" and c.reason == "Unschedulable":
            name = pod.metadata.name if pod.metadata else "a pod"
            return Unschedulable(
                f"Couldn't schedule {name}: the cluster does not have the resources asked for: "
                f"{c.message or 'no node fits'}"
            )
    return None


def pod_cause(pod: Pod, log_lines: Sequence[str] = ()) -> FailureCause | None:
    """Why this pod does not serve, or None when it is fine or merely starting."""
    pending = unschedulable(pod)
    if pending is not None:
        return pending
    status = _container(pod)
    if status is None:
        return None
    name = pod_name(pod) or "pod"
    waiting = status.state.waiting if status.state else None
    lines = list(log_lines)
    if waiting is not None and waiting.reason in IMAGE_PULL_REASONS:
        return ImagePullFailed(
            f"{name}: the image {status.image} cannot be pulled ({waiting.reason}): "
            f"{waiting.message or 'check the image name, the registry and imagePullSecrets'}",
            explaining_lines(lines) if lines else (),
        )
    if waiting is not None and waiting.reason in CONFIG_REASONS:
        return CrashedAtStart(f"{name}: {waiting.reason}: {waiting.message or ''}".rstrip(": "))
    last = status.lastState.terminated if status.lastState else None
    now = status.state.terminated if status.state else None
    ended = now or last
    if ended is None:
        return None
    code = ended.exitCode
    if ended.reason == "OOMKilled":
        lines.append(f"{name}: the container was OOMKilled: raise memoryInGB/memoryInGBLimit")
        code = -9
    return classify(
        code,
        lines,
        replica=_index(name),
        ever_ready=bool(status.started) and status.restartCount == 0 and now is None,
        recent_crashes=status.restartCount,
        crash_loop_after=CRASH_LOOP_AFTER,
    )


def _index(pod_name: str) -> int:
    # replica numbers in messages: pods have random suffixes, a stable hash keeps them short
    return sum(pod_name.encode()) % 1000


def observed_replica(pod: Pod, index: int, log_lines: Sequence[str] = ()) -> ObservedReplica:
    status = _container(pod)
    terminated = status.lastState.terminated if status and status.lastState else None
    running = status.state.running if status and status.state else None
    return ObservedReplica(
        index=index,
        revision=pod_revision(pod),
        pid=None,
        alive=running is not None,
        ready=is_ready(pod),
        restarts=status.restartCount if status else 0,
        last_exit_code=terminated.exitCode if terminated else None,
        started_at=running.startedAt.timestamp() if running and running.startedAt else None,
        port=IMAGE_PORT,
        health_port=None,
        cause=None if is_ready(pod) else pod_cause(pod, log_lines),
    )


def desired_replicas(deployment: Deployment) -> int:
    spec_replicas = deployment.spec.replicas if deployment.spec else None
    if spec_replicas is not None:
        return int(spec_replicas)
    # autoscaled: the HPA sets the count; at least one pod must serve
    status = deployment.status
    return max(1, int(status.replicas or 0) if status else 1)


def observe_revisions(
    deployment: Deployment | None,
    pods: Sequence[Pod],
    logs: Mapping[str, Sequence[str]] | None = None,
) -> tuple[ObservedRevision, ...]:
    """The driver interface's view: one ObservedRevision per revision label seen on pods."""
    logs = logs or {}
    if deployment is None:
        return ()
    current = _deployment_revision(deployment)
    by_revision: dict[int, list[ObservedReplica]] = {current: []}
    for i, pod in enumerate(sorted(pods, key=pod_name)):
        name = pod_name(pod)
        by_revision.setdefault(pod_revision(pod), []).append(
            observed_replica(pod, i, logs.get(name, ()))
        )
    desired = desired_replicas(deployment)
    revisions = []
    for number, replicas in sorted(by_revision.items()):
        is_current = number == current
        cause = _worst(r.cause for r in replicas) if is_current else None
        if is_current and cause is None:
            report = deployment_state(deployment, pods, logs)
            cause = report.cause if report.state == FAILED else None
        revisions.append(
            ObservedRevision(
                revision=number,
                desired=desired if is_current else 0,
                replicas=tuple(replicas),
                retiring=not is_current,
                cause=cause,
            )
        )
    return tuple(revisions)


def _deployment_revision(deployment: Deployment) -> int:
    template = deployment.spec.template if deployment.spec else None
    labels = (template.metadata.labels or {}) if template and template.metadata else {}
    try:
        return int(labels.get(LABEL_REVISION, "0"))
    except ValueError:
        return 0


def _worst(causes: Iterable[FailureCause | None]) -> FailureCause | None:
    found = [c for c in causes if c is not None]
    # a real failure outranks "not yet" (Unschedulable): the rollout must stop on it
    failures = [c for c in found if not isinstance(c, Unschedulable)]
    ranked = failures or found
    return ranked[0] if ranked else None


def deployment_state(
    deployment: Deployment,
    pods: Sequence[Pod],
    logs: Mapping[str, Sequence[str]] | None = None,
) -> StateReport:
    """The v1 state of a service from its Deployment and pods (docs/kubernetes.md)."""
    logs = logs or {}
    current = _deployment_revision(deployment)
    mine = [p for p in pods if pod_revision(p) == current]
    desired = desired_replicas(deployment)
    ready = sum(is_ready(p) for p in mine)
    conditions = (
        {c.type: c for c in (deployment.status.conditions or [])} if deployment.status else {}
    )
    available = conditions.get("Available")
    progressing = conditions.get("Progressing")
    was_serving = available is not None and available.status == "True"
    causes = [pod_cause(p, logs.get(pod_name(p), ())) for p in mine if not is_ready(p)]
    cause = _worst(causes)
    if ready >= desired and desired > 0 and cause is None:
        return StateReport(HEALTHY, None, ready, desired)
    if progressing is not None and progressing.reason == "ProgressDeadlineExceeded":
        message = progressing.message or "the rollout did not progress within its deadline"
        return StateReport(FAILED, cause or Timeout(message), ready, desired)
    if isinstance(cause, Unschedulable):
        return StateReport(UNSCHEDULABLE, cause, ready, desired)
    if cause is not None:
        # still serving on the old pods (or some of the new): Unhealthy, not down
        serving = was_serving and ready > 0
        return StateReport(UNHEALTHY if serving else FAILED, cause, ready, desired)
    return StateReport(TRANSITIONING, None, ready, desired)
