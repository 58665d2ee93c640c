"""The rendered Deployment runs a package image under ``podman kube play`` and answers /score.

No Kubernetes API server exists on these machines; podman runs a Deployment's pod spec (image,
env, resources, probes as health checks, the Secret volume, non-root user), which is what this
test checks. Two podman 4.3 quirks are bridged here, not in the manifests: kube play takes a
Secret from podman's own secret store (and mounts its ``data`` values without base64-decoding
them, so the store gets the plain text), and it publishes ``containerPort`` on the host, so the
port is moved to a free one (``MODELPORT_PORT`` with it). Skipped, with the reason, where podman
cannot run.
"""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import time
import uuid
import warnings
from collections.abc import Iterator
from typing import Any

import httpx
import joblib
import pytest
import yaml

from modelport.server.deploy.auth import AuthSettings
from modelport.targets.kubernetes.manifests import KubeService, render, to_dicts
from modelport.webservice import AksWebservice
from tests.e2e import sdk_deploy_support as fixtures
from tests.e2e.deploy_support import digits_model, digits_rows
from tests.packaging import test_package_image as package_tests
from tests.packaging.support import podman_missing

deploy_server = fixtures.deploy_server
digits = fixtures.digits
ws = fixtures.ws
image = package_tests.image  # the digits package image, built as the packaging tests build it

_missing = podman_missing()
pytestmark = [
    pytest.mark.skipif(_missing is not None, reason=f"needs podman: {_missing}"),
    pytest.mark.timeout(900),  # the image build alone can take minutes on a loaded machine
]
KEY = "k8s-test-key"


def _podman(*args: str, check: bool = True, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(["podman", *args], capture_output=True, text=True, check=False, env=env)
    if check and done.returncode != 0:
        raise AssertionError(f"podman {' '.join(args)}: {done.stderr[-2000:]}")
    return done.stdout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _manifests(image: str, name: str) -> list[dict[str, Any]]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        config = AksWebservice.deploy_configuration(num_replicas=1, memory_gb=1)
    document = AuthSettings(mode="key", primary_key=KEY).auth_file_document(name)
    return to_dicts(render(KubeService(name, "default", 1, image, config, "default", document)))


@pytest.fixture(scope="module")
def pod(image: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    name = f"mp-k8s-{uuid.uuid4().hex[:6]}"
    objects = {o["kind"]: o for o in _manifests(image, name)}
    folder = tmp_path_factory.mktemp("kube")
    secret = objects["Secret"]
    secret["data"] = secret.pop("stringData")  # podman 4.3 mounts data values verbatim
    (folder / "secret.json").write_text(json.dumps(secret))
    port = _free_port()
    container = objects["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    container["ports"][0]["containerPort"] = port  # published on the host as is
    for var in container["env"]:
        if var["name"] == "MODELPORT_PORT":
            var["value"] = str(port)
    manifest = folder / "deployment.yaml"
    manifest.write_text(yaml.safe_dump(objects["Deployment"]))
    conf = folder / "containers.conf"
    conf.write_text(
        '[containers]\ndefault_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]\n'
        '[engine]\nruntime = "runc"\n'
    )
    env = {**os.environ, "CONTAINERS_CONF": str(conf)}
    _podman("secret", "create", secret["metadata"]["name"], str(folder / "secret.json"))
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
                logs = _podman("logs", f"{name}-pod-0-inference", check=False)
                pytest.fail(f"the pod did not answer GET / within 120 s: {logs[-2000:]}")
            time.sleep(0.2)  # poll interval, bounded by the deadline
        yield url
    finally:
        _podman("kube", "down", str(manifest), check=False, env=env)
        _podman("secret", "rm", secret["metadata"]["name"], check=False)


def test_the_pod_scores_like_the_model_and_requires_the_key(pod: str) -> None:
    rows = digits_rows(5)
    model = joblib.load(io.BytesIO(digits_model()))
    answer = httpx.post(
        pod + "/score", json={"data": rows}, headers={"Authorization": f"Bearer {KEY}"}, timeout=30
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == model.predict(rows).tolist()
    refused = httpx.post(pod + "/score", json={"data": rows}, timeout=30)
    assert refused.status_code == 401


def test_the_pod_runs_as_the_non_root_user_of_the_manifest(pod: str, image: str) -> None:
    names = _podman("ps", "--format", "{{.Names}}").split()
    inference = next(n for n in names if n.endswith("-inference") and n.startswith("mp-k8s-"))
    assert _podman("exec", inference, "id", "-u", check=False).strip() in ("10001", "")
    user = _podman("inspect", "--format", "{{.Config.User}}", inference).strip()
    assert user.startswith("10001")
