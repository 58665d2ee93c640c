"""An AKS deployment end to end, as far as this machine allows, with one image build.

1. ``Model.deploy`` with an AKS config goes through the workspace server's reconciler to an
   attached target: a loopback stub of the Kubernetes API (tests/kubernetes/api_stub.py) whose
   pods turn Ready once a Deployment is applied. The server builds the revision's package image
   with podman, server-side applies the objects, and the service turns Healthy.
2. The objects exactly as the server applied them run under ``podman kube play`` with that image
   (no Kubernetes API server exists here: podman runs the Deployment's pod spec — image, env,
   resources, probes as health checks, the Secret volume, the non-root user), and the pod answers
   /score like the model, with the service's key.

Two podman 4.3 quirks are bridged here, not in the manifests: kube play takes a Secret from
podman's own secret store (and mounts its ``data`` values without base64-decoding them, so the
store gets the plain text), and it publishes ``containerPort`` on the host, so the port is moved
to a free one (``MODELPORT_PORT`` with it). Skipped, with the reason, where podman cannot run.
"""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import joblib
import pytest
import yaml

from modelport import Model, Workspace
from modelport.sdk.compute_target import ComputeTarget, KubernetesAttachConfiguration
from modelport.sdk.webservice import Webservice
from modelport.webservice import AksWebservice
from tests.e2e import sdk_deploy_support as fixtures
from tests.e2e.deploy_support import digits_model, digits_rows
from tests.kubernetes.api_stub import ApiStub, api_stub
from tests.packaging.support import digits_conda_config, ensure_debian_base, podman_missing

deploy_server = fixtures.deploy_server
digits = fixtures.digits
ws = fixtures.ws

_missing = podman_missing()
pytestmark = [
    pytest.mark.skipif(_missing is not None, reason=f"needs podman: {_missing}"),
    pytest.mark.timeout(900),  # the image build alone can take minutes on a loaded machine
]
NAME = "k8s-digits"
PREFIX = f"/apis/apps/v1/namespaces/ml/deployments/{NAME}"
SECRET = f"/api/v1/namespaces/ml/secrets/{NAME}-auth"
IMAGE = f"localhost/default/{NAME}:rev-1"


def _podman(*args: str, check: bool = True, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(["podman", *args], capture_output=True, text=True, check=False, env=env)
    if check and done.returncode != 0:
        raise AssertionError(f"podman {' '.join(args)}: {done.stderr[-2000:]}")
    return done.stdout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Deployed:
    service: Webservice
    stub: ApiStub


@pytest.fixture(scope="module")
def deployed(
    ws: Workspace, digits: Model, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployed]:
    folder = tmp_path_factory.mktemp("aks")
    with api_stub() as stub:
        stub.ready_pods = True
        target = ComputeTarget.attach(ws, "stub", KubernetesAttachConfiguration(stub.kubeconfig()))
        with warnings.catch_warnings():  # baseImage: "deployments on this machine do not use it"
            warnings.simplefilter("ignore")
            # the cluster's images start from the registry-free base
            inference = digits_conda_config(folder, base_image=ensure_debian_base())
            config = AksWebservice.deploy_configuration(num_replicas=1)
        service = Model.deploy(ws, NAME, [digits], inference, config)
        try:
            service.wait_for_deployment(timeout_sec=800)
            yield Deployed(service, stub)
        finally:
            with_service = any(NAME in path for path in stub.objects)
            if with_service:
                service.delete()
            target.detach()
            _podman("rmi", "-f", IMAGE, check=False)


def test_an_aks_deployment_goes_to_the_attached_cluster(deployed: Deployed, ws: Workspace) -> None:
    service, stub = deployed.service, deployed.stub
    assert service.state == "Healthy", service.get_logs()
    assert service.scoring_uri == f"http://{NAME}.ml.svc.cluster.local/score"
    container = stub.objects[PREFIX]["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == IMAGE
    _podman("image", "exists", IMAGE)  # built on the server's machine (fails if missing)
    assert json.loads(stub.objects[SECRET]["stringData"]["auth.json"])["mode"] == "key"
    assert f"--- pod {NAME}-0 ---" in service.get_logs()
    assert ComputeTarget(ws, "stub").serialize()["services"] == [NAME]


@pytest.fixture(scope="module")
def pod(deployed: Deployed, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The applied Secret and Deployment under podman kube play; the pod's URL."""
    folder = tmp_path_factory.mktemp("kube")
    secret = dict(deployed.stub.objects[SECRET])
    secret["data"] = secret.pop("stringData")  # podman 4.3 mounts data values verbatim
    secret_name = f"{secret['metadata']['name']}-{os.getpid()}"
    secret["metadata"] = {**secret["metadata"], "name": secret_name}
    (folder / "secret.json").write_text(json.dumps(secret))
    deployment: dict[str, Any] = json.loads(json.dumps(deployed.stub.objects[PREFIX]))
    spec = deployment["spec"]["template"]["spec"]
    spec["volumes"][0]["secret"]["secretName"] = secret_name
    port = _free_port()
    container = spec["containers"][0]
    container["ports"][0]["containerPort"] = port  # published on the host as is
    for var in container["env"]:
        if var["name"] == "MODELPORT_PORT":
            var["value"] = str(port)
    manifest = folder / "deployment.yaml"
    manifest.write_text(yaml.safe_dump(deployment))
    conf = folder / "containers.conf"
    conf.write_text(
        '[containers]\ndefault_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]\n'
        '[engine]\nruntime = "runc"\n'
    )
    env = {**os.environ, "CONTAINERS_CONF": str(conf)}
    _podman("secret", "create", secret_name, str(folder / "secret.json"))
    url = f"http://127.0.0.1:{port}"
    try:
        _podman("kube", "play", str(manifest), env=env)
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(url + "/", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                logs = _podman("logs", f"{NAME}-pod-0-inference", check=False)
                pytest.fail(f"the pod did not answer GET / within 120 s: {logs[-2000:]}")
            time.sleep(0.2)  # poll interval, bounded by the deadline
        yield url
    finally:
        _podman("kube", "down", str(manifest), check=False, env=env)
        _podman("secret", "rm", secret_name, check=False)


def test_the_applied_deployment_scores_like_the_model_with_the_services_key(
    pod: str, deployed: Deployed
) -> None:
    rows = digits_rows(5)
    model = joblib.load(io.BytesIO(digits_model()))
    key = deployed.service.get_keys()[0]
    answer = httpx.post(
        pod + "/score", json={"data": rows}, headers={"Authorization": f"Bearer {key}"}, timeout=30
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == model.predict(rows).tolist()
    refused = httpx.post(pod + "/score", json={"data": rows}, timeout=30)
    assert refused.status_code == 401


def test_the_pod_runs_as_the_non_root_user_of_the_manifest(pod: str) -> None:
    user = _podman("inspect", "--format", "{{.Config.User}}", f"{NAME}-pod-0-inference").strip()
    assert user.startswith("10001")


def test_an_update_rolls_the_deployment_to_the_new_revisions_image(deployed: Deployed) -> None:
    service, stub = deployed.service, deployed.stub
    service.update(num_replicas=2)
    service.wait_for_deployment(timeout_sec=800)
    assert service.state == "Healthy", service.get_logs()
    spec = stub.objects[PREFIX]["spec"]
    assert spec["replicas"] == 2
    assert spec["template"]["metadata"]["labels"]["modelport.io/revision"] == "2"
    assert spec["template"]["spec"]["containers"][0]["image"] == IMAGE.replace("rev-1", "rev-2")
    assert spec["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    _podman("rmi", "-f", IMAGE.replace("rev-1", "rev-2"), check=False)


def test_deleting_the_service_deletes_its_objects(deployed: Deployed) -> None:
    deployed.service.delete()
    assert not any(NAME in path for path in deployed.stub.objects)
