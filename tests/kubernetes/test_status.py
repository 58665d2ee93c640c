"""State mapping: lightkube objects for each situation → v1 state and the local target's causes."""

from __future__ import annotations

import datetime as dt
import warnings

from lightkube.models.apps_v1 import DeploymentCondition, DeploymentStatus
from lightkube.models.core_v1 import (
    ContainerState,
    ContainerStateRunning,
    ContainerStateTerminated,
    ContainerStateWaiting,
    ContainerStatus,
    PodCondition,
    PodStatus,
)
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import Pod

from modelport.specs import parse_deployment_config
from modelport.targets.kubernetes import status as st
from modelport.targets.kubernetes.manifests import KubeService, deployment

NOW = dt.datetime(2026, 12, 5, 9, 0, tzinfo=dt.UTC)


def _deployment(
    revision: int = 2, replicas: int = 2, conditions: dict[str, tuple[str, str]] | None = None
) -> Deployment:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        config = parse_deployment_config({"computeType": "AKS", "numReplicas": replicas})
    dep = deployment(KubeService("digits", "ws", revision, "img:1", config))
    dep.status = DeploymentStatus(
        conditions=[
            DeploymentCondition(type=t, status=s, reason=r)
            for t, (s, r) in (conditions or {}).items()
        ]
    )
    return dep


def _pod(
    name: str,
    revision: int = 2,
    *,
    ready: bool = False,
    scheduled: tuple[str, str] | None = None,
    state: ContainerState | None = None,
    last: ContainerStateTerminated | None = None,
    restarts: int = 0,
    started: bool = False,
) -> Pod:
    conditions = [PodCondition(type="Ready", status="True" if ready else "False")]
    if scheduled is not None:
        conditions.append(
            PodCondition(
                type="PodScheduled", status="False", reason=scheduled[0], message=scheduled[1]
            )
        )
    statuses = None
    if state is not None:
        statuses = [
            ContainerStatus(
                name="inference",
                image="registry.example/digits:r2",
                imageID="",
                ready=ready,
                restartCount=restarts,
                state=state,
                started=started,
                lastState=ContainerState(terminated=last) if last else None,
            )
        ]
    return Pod(
        metadata=ObjectMeta(name=name, labels={"modelport.io/revision": str(revision)}),
        status=PodStatus(
            phase="Running" if state else "Pending",
            conditions=conditions,
            containerStatuses=statuses,
        ),
    )


RUNNING = ContainerState(running=ContainerStateRunning(startedAt=NOW))
TRACEBACK = [
    "Traceback (most recent call last):",
    '  File "/var/azureml-app/score.py", line 7, in init',
    "    script.init()",
    "RuntimeError: model file missing",
]


def test_progressing_is_transitioning() -> None:
    dep = _deployment(conditions={"Progressing": ("True", "ReplicaSetUpdated")})
    report = st.deployment_state(dep, [_pod("a", state=RUNNING), _pod("b")])
    assert (report.state, report.cause, report.ready, report.desired) == (
        "Transitioning",
        None,
        0,
        2,
    )


def test_available_with_every_pod_ready_is_healthy() -> None:
    dep = _deployment(conditions={"Available": ("True", "MinimumReplicasAvailable")})
    pods = [
        _pod("a", ready=True, state=RUNNING),
        _pod("b", ready=True, state=RUNNING),
        _pod("old", revision=1, ready=True, state=RUNNING),
    ]
    assert st.deployment_state(dep, pods).state == "Healthy"
    revisions = st.observe_revisions(dep, pods)
    current = next(r for r in revisions if r.revision == 2)
    assert current.ready and current.ready_replicas == 2
    assert next(r for r in revisions if r.revision == 1).retiring


def test_failed_scheduling_is_unschedulable_with_the_schedulers_message() -> None:
    message = "0/3 nodes are available: 3 Insufficient cpu."
    report = st.deployment_state(_deployment(), [_pod("a", scheduled=("Unschedulable", message))])
    assert report.state == "Unschedulable"
    assert report.cause is not None and report.cause.code == "Unschedulable"
    assert message in report.cause.message
    (rev,) = st.observe_revisions(_deployment(), [_pod("a", scheduled=("Unschedulable", message))])
    assert rev.cause is not None and rev.cause.code == "Unschedulable"


def test_image_pull_errors_fail_with_image_pull_failed() -> None:
    waiting = ContainerState(
        waiting=ContainerStateWaiting(
            reason="ImagePullBackOff", message='Back-off pulling image "registry.example/digits:r2"'
        )
    )
    report = st.deployment_state(_deployment(), [_pod("a", state=waiting)])
    assert report.state == "Failed"
    assert report.cause is not None and report.cause.code == "ImagePullFailed"
    assert "registry.example/digits:r2" in report.cause.message


def test_init_failure_is_init_failed_with_the_traceback() -> None:
    crashed = ContainerStateTerminated(exitCode=3, reason="Error")
    waiting = ContainerState(waiting=ContainerStateWaiting(reason="CrashLoopBackOff"))
    pod = _pod("a", state=waiting, last=crashed, restarts=1)
    report = st.deployment_state(_deployment(), [pod], {"a": TRACEBACK})
    assert report.state == "Failed"
    assert report.cause is not None and report.cause.code == "InitFailed"
    assert "RuntimeError: model file missing" in report.cause.message
    assert report.cause.details[0].startswith("Traceback")


def test_import_failure_is_import_failed() -> None:
    lines = ["ERROR entry script failed to load: No module named 'sklearn'"]
    crashed = ContainerStateTerminated(exitCode=3, reason="Error")
    pod = _pod("a", state=ContainerState(terminated=crashed))
    cause = st.pod_cause(pod, lines)
    assert cause is not None and cause.code == "EntryScriptImportFailed"
    assert "No module named 'sklearn'" in cause.message


def test_a_crash_loop_is_crash_loop() -> None:
    crashed = ContainerStateTerminated(exitCode=1, reason="Error")
    waiting = ContainerState(waiting=ContainerStateWaiting(reason="CrashLoopBackOff"))
    report = st.deployment_state(
        _deployment(), [_pod("a", state=waiting, last=crashed, restarts=4)]
    )
    assert report.cause is not None and report.cause.code == "CrashLoop"
    assert "crashed 4 times" in report.cause.message


def test_oom_kill_says_so() -> None:
    oom = ContainerStateTerminated(exitCode=137, reason="OOMKilled")
    cause = st.pod_cause(_pod("a", state=RUNNING, last=oom, restarts=5))
    assert cause is not None and cause.code == "CrashLoop"
    assert any("OOMKilled" in line for line in cause.details)


def test_a_crash_while_serving_is_unhealthy_not_failed() -> None:
    dep = _deployment(conditions={"Available": ("True", "MinimumReplicasAvailable")})
    crashed = ContainerStateTerminated(exitCode=1, reason="Error")
    waiting = ContainerState(waiting=ContainerStateWaiting(reason="CrashLoopBackOff"))
    pods = [
        _pod("a", ready=True, state=RUNNING),
        _pod("b", state=waiting, last=crashed, restarts=3),
    ]
    report = st.deployment_state(dep, pods)
    assert report.state == "Unhealthy"
    assert report.cause is not None and report.cause.code == "CrashLoop"


def test_progress_deadline_exceeded_is_failed() -> None:
    dep = _deployment(conditions={"Progressing": ("False", "ProgressDeadlineExceeded")})
    report = st.deployment_state(dep, [_pod("a", state=RUNNING)])
    assert report.state == "Failed" and report.cause is not None
    assert report.cause.code == "Timeout"


def test_missing_secret_is_crashed_at_start() -> None:
    waiting = ContainerState(
        waiting=ContainerStateWaiting(
            reason="CreateContainerConfigError", message='secret "digits-auth" not found'
        )
    )
    cause = st.pod_cause(_pod("a", state=waiting))
    assert cause is not None and cause.code == "CrashedAtStart"
    assert "digits-auth" in cause.message
