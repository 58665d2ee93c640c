"""The driver's API calls, against a loopback stub of the Kubernetes API (tests/kubernetes/api_stub.py)."""

from __future__ import annotations

import socket
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from modelport.errors import ServerError, UserError
from modelport.specs import parse_deployment_config
from modelport.targets.kubernetes.driver import KubernetesDriver, KubernetesTarget
from modelport.targets.kubernetes.manifests import KubeService
from tests.kubernetes.api_stub import ApiStub, api_stub

DEPLOYMENT = "/apis/apps/v1/namespaces/ml/deployments/digits"


@pytest.fixture
def stub() -> Iterator[ApiStub]:
    with api_stub() as s:
        yield s


def _service(data: dict[str, object], revision: int = 1) -> KubeService:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        config = parse_deployment_config({"computeType": "AKS", **data})
    return KubeService("digits", "ws", revision, "registry.example/digits:r1", config, "ml",
                       {"mode": "key", "keyHashes": ["00"]})  # fmt: skip


def _driver(stub: ApiStub) -> KubernetesDriver:
    return KubernetesDriver(KubernetesTarget("prod", stub.kubeconfig(), "stub", "ml"))


def test_apply_is_server_side_apply_of_every_object_in_order(stub: ApiStub) -> None:
    assert _driver(stub).apply_service(_service({})) == 80
    patches = [(path, q, ctype) for method, path, q, ctype in stub.requests if method == "PATCH"]
    assert [p for p, _, _ in patches] == [
        "/api/v1/namespaces/ml/secrets/digits-auth",
        DEPLOYMENT,
        "/api/v1/namespaces/ml/services/digits",
        "/apis/autoscaling/v2/namespaces/ml/horizontalpodautoscalers/digits",
    ]
    for _, query, ctype in patches:
        assert ctype == "application/apply-patch+yaml"
        assert query["fieldManager"] == ["modelport"] and query["force"] == ["true"]
    assert stub.objects[DEPLOYMENT]["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


def test_fixed_replicas_remove_a_previous_autoscaler(stub: ApiStub) -> None:
    driver = _driver(stub)
    driver.apply_service(_service({}))
    driver.apply_service(_service({"numReplicas": 2}, revision=2))
    hpa = "/apis/autoscaling/v2/namespaces/ml/horizontalpodautoscalers/digits"
    assert hpa not in stub.objects
    assert stub.objects[DEPLOYMENT]["spec"]["replicas"] == 2


def test_observe_reads_the_deployment_and_its_pods_by_label(stub: ApiStub) -> None:
    driver = _driver(stub)
    driver.apply_service(_service({"numReplicas": 1}))
    stub.pods.append({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "digits-abc", "labels": {"modelport.io/revision": "1"}},
        "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "False"}],
                   "containerStatuses": [{
                       "name": "inference", "image": "img", "imageID": "", "ready": False,
                       "restartCount": 1,
                       "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                       "lastState": {"terminated": {"exitCode": 3}}}]},
    })  # fmt: skip
    observed = driver.observe("ws/digits")
    (rev,) = observed.revisions
    assert rev.revision == 1 and rev.cause is not None
    assert rev.cause.code == "InitFailed" and "RuntimeError: boom" in rev.cause.message
    pod_list = next(q for m, p, q, _ in stub.requests if p.endswith("/pods"))
    assert pod_list["labelSelector"] == ["modelport.io/service=digits,modelport.io/workspace=ws"]
    log_query = next(q for m, p, q, _ in stub.requests if p.endswith("/log"))
    assert log_query["previous"] == ["true"]  # the crashed container's log explains the crash
    assert driver.state("ws/digits").state == "Failed"
    assert "RuntimeError: boom" in driver.logs("ws/digits")


def test_delete_removes_every_object_and_tolerates_missing_ones(stub: ApiStub) -> None:
    driver = _driver(stub)
    driver.apply_service(_service({"numReplicas": 1}))
    driver.delete("ws/digits")
    assert stub.objects == {}
    driver.delete("ws/digits")  # idempotent


def test_an_unreachable_api_server_is_a_clear_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    stub = ApiStub(f"http://127.0.0.1:{port}")  # nothing listens there
    with pytest.raises(ServerError, match="API server of target 'prod' cannot be reached"):
        _driver(stub).apply_service(_service({}))


def test_files_a_kubeconfig_points_to_are_inlined_at_attach(tmp_path: Path) -> None:
    import base64

    import yaml

    from modelport.sdk.compute_target import KubernetesCompute

    (tmp_path / "certs").mkdir()
    for name in ("ca.crt", "client.crt", "client.key"):
        (tmp_path / "certs" / name).write_text(f"PEM of {name}")
    kc = tmp_path / "config"
    kc.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "mk",
        "clusters": [{"name": "mk", "cluster": {"server": "https://192.0.2.1:8443",
                                                "certificate-authority": "certs/ca.crt"}}],
        "users": [{"name": "mk", "user": {"client-certificate": "certs/client.crt",
                                          "client-key": str(tmp_path / "certs" / "client.key")}}],
        "contexts": [{"name": "mk", "context": {"cluster": "mk", "user": "mk"}}],
    }))  # fmt: skip
    text = KubernetesCompute.attach_configuration(kc).kubeconfig
    data = yaml.safe_load(text)
    cluster, user = data["clusters"][0]["cluster"], data["users"][0]["user"]
    assert "certificate-authority" not in cluster
    assert base64.b64decode(cluster["certificate-authority-data"]) == b"PEM of ca.crt"
    assert base64.b64decode(user["client-key-data"]) == b"PEM of client.key"
    assert set(user) == {"client-certificate-data", "client-key-data"}
    (tmp_path / "certs" / "ca.crt").unlink()
    with pytest.raises(UserError, match="kubeconfig names certificate-authority"):
        KubernetesCompute.attach_configuration(kc)
