"""Against a real cluster: runs only when MODELPORT_TEST_KUBECONFIG names one (and
MODELPORT_TEST_IMAGE a package image that cluster can pull); skipped with that reason otherwise.

What it checks there: server-side apply creates a Deployment that becomes Healthy through the
state mapping, an impossible cpu request reads Unschedulable with the scheduler's message, the
pods' logs come back, and delete leaves nothing behind.
"""

from __future__ import annotations

import os
import time
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from modelport.specs import parse_deployment_config
from modelport.targets.kubernetes.driver import KubernetesDriver, KubernetesTarget
from modelport.targets.kubernetes.manifests import KubeService
from modelport.targets.kubernetes.status import StateReport

KUBECONFIG = os.environ.get("MODELPORT_TEST_KUBECONFIG")
IMAGE = os.environ.get("MODELPORT_TEST_IMAGE")
pytestmark = pytest.mark.skipif(
    not (KUBECONFIG and IMAGE),
    reason="no live cluster: set MODELPORT_TEST_KUBECONFIG (a kubeconfig file) and "
    "MODELPORT_TEST_IMAGE (a package image the cluster can pull) to run these",
)


@pytest.fixture(scope="module")
def driver() -> KubernetesDriver:
    import yaml

    text = Path(str(KUBECONFIG)).read_text()
    context = (
        os.environ.get("MODELPORT_TEST_KUBE_CONTEXT") or yaml.safe_load(text)["current-context"]
    )
    namespace = os.environ.get("MODELPORT_TEST_KUBE_NAMESPACE", "default")
    return KubernetesDriver(KubernetesTarget("live", text, context, namespace))


def _service(name: str, **config: object) -> KubeService:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parsed = parse_deployment_config({"computeType": "kubernetes", **config})
    return KubeService(name, "test", 1, str(IMAGE), parsed, "default", None)


def _wait(
    driver: KubernetesDriver, name: str, states: tuple[str, ...], seconds: float
) -> StateReport:
    deadline = time.monotonic() + seconds
    while True:
        report = driver.state(f"test/{name}")
        if report.state in states or time.monotonic() > deadline:
            return report
        time.sleep(2)  # poll interval, bounded by the deadline


@pytest.fixture
def name(driver: KubernetesDriver) -> Iterator[str]:
    value = f"mp-live-{uuid.uuid4().hex[:6]}"
    yield value
    driver.delete(f"test/{value}")


def test_a_revision_becomes_healthy_and_is_deleted(driver: KubernetesDriver, name: str) -> None:
    driver.apply_service(
        _service(name, numReplicas=1, authEnabled=False,
                 livenessProbeRequirements={"initialDelaySeconds": 30})
    )  # fmt: skip
    report = _wait(driver, name, ("Healthy", "Failed"), 300)
    assert report.state == "Healthy", report
    assert driver.logs(f"test/{name}")
    driver.delete(f"test/{name}")
    assert f"test/{name}" not in driver.services()


def test_an_impossible_cpu_request_is_unschedulable(driver: KubernetesDriver, name: str) -> None:
    driver.apply_service(
        _service(name, numReplicas=1, authEnabled=False,
                 containerResourceRequirements={"cpu": 4096})
    )  # fmt: skip
    report = _wait(driver, name, ("Unschedulable", "Failed"), 120)
    assert report.state == "Unschedulable" and report.cause is not None
    assert "Insufficient cpu" in report.cause.message
