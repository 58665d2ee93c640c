"""A package image built for real with podman on a registry-free Debian base, run, and scored.

The base image (``localhost/debian-python:bookworm``) is made once per machine with debootstrap
(tests/packaging/support.py). The build installs the lock from wheels fetched on the host first,
so it needs no network inside the build. Skipped, with the reason, where podman cannot run.
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import joblib
import pytest

from modelport import Model, Workspace
from modelport.packaging.build import image_size
from tests.e2e import sdk_deploy_support as fixtures
from tests.e2e.deploy_support import digits_model, digits_rows
from tests.packaging.support import (
    RUN_FLAGS,
    digits_conda_config,
    ensure_debian_base,
    podman_missing,
    wait_healthy,
)

deploy_server = fixtures.deploy_server
digits = fixtures.digits
ws = fixtures.ws

_missing = podman_missing()
pytestmark = pytest.mark.skipif(_missing is not None, reason=f"needs podman: {_missing}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _podman(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["podman", *args], capture_output=True, text=True, check=check)


@pytest.fixture(scope="module")
def image(ws: Workspace, digits: Model, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    base = ensure_debian_base()
    label = uuid.uuid4().hex[:8]
    # v1's default package type (DockerImage): wait_for_creation builds the image on this machine;
    # the base comes through the request, so the Dockerfile's own default BASE_IMAGE is what builds
    pkg = Model.package(
        ws, [digits], digits_conda_config(tmp_path_factory.mktemp("src")), generate_dockerfile=False,
        image_name="mp-test-digits", image_label=label, base_image=base,
    )  # fmt: skip
    started = time.monotonic()
    pkg.wait_for_creation(timeout=300)
    tag = pkg.location
    assert tag == f"localhost/mp-test-digits:{label}" == pkg.image
    built_in = time.monotonic() - started
    size = image_size(tag)
    du = _podman("--runtime", "runc", "run", "--rm", *RUN_FLAGS[2:], "--entrypoint", "du", tag,
                 "-sb", "/opt/modelport", "/var/azureml-app", check=False).stdout.split()  # fmt: skip
    print(f"\nadded layers (bytes, path): {du}")
    print(
        f"\nimage {tag}: {size / 1e6:.0f} MB (base {image_size(base) / 1e6:.0f} MB), packaged and built in {built_in:.0f} s"
    )
    yield tag
    _podman("rmi", "-f", tag, check=False)


@pytest.fixture(scope="module")
def container(image: str) -> Iterator[str]:
    port, name = _free_port(), f"mp-test-{uuid.uuid4().hex[:8]}"
    _podman("--runtime", "runc", "run", "-d", *RUN_FLAGS[2:], "-e", f"MODELPORT_PORT={port}",
            "--name", name, image)  # fmt: skip
    url = f"http://127.0.0.1:{port}"

    def stopped() -> str | None:
        state = _podman("inspect", "--format", "{{.State.Status}}", name, check=False)
        if state.returncode == 0 and state.stdout.strip() in ("running", "created"):
            return None
        logs = _podman("logs", name, check=False)
        return logs.stdout[-2000:] + logs.stderr[-2000:]

    try:
        wait_healthy(url, 90, stopped)
        yield url
    finally:
        _podman("rm", "-f", "-t", "5", name, check=False)


def test_image_scores_like_the_model(container: str) -> None:
    rows = digits_rows(5)
    answer = httpx.post(container + "/score", json={"data": rows}, timeout=30)
    assert answer.status_code == 200, answer.text
    import io

    model = joblib.load(io.BytesIO(digits_model()))
    assert answer.json() == model.predict(rows).tolist()
    assert httpx.get(container + "/swagger.json", timeout=10).status_code == 200


def test_image_runs_as_non_root_with_a_health_check(image: str) -> None:
    config = json.loads(_podman("image", "inspect", image).stdout)[0]["Config"]
    assert config["User"] == "10001:0"
    assert "5001/tcp" in config["ExposedPorts"]
    health = (
        config.get("Healthcheck")
        or _podman("image", "inspect", "--format", "{{json .HealthCheck}}", image).stdout
    )
    assert "urlopen" in json.dumps(health)
    env = dict(e.split("=", 1) for e in config["Env"])
    assert env["AZUREML_MODEL_DIR"] == "/var/azureml-app/azureml-models/digits/1"


def test_image_has_no_installer_left(image: str) -> None:
    probe = _podman(
        "--runtime", "runc", "run", "--rm", *RUN_FLAGS[2:], "--entrypoint",
        "/opt/modelport/venv/bin/python", image, "-c",
        "import importlib.util as u, os; print([m for m in ('pip', 'setuptools') if u.find_spec(m)],"
        " os.path.exists('/tmp/package'), os.getuid())",
    )  # fmt: skip
    assert probe.stdout.strip() == "[] False 10001", probe.stdout + probe.stderr


def test_a_failed_build_says_why_in_one_line(ws: Workspace, digits: Model, tmp_path: Path) -> None:
    from modelport.errors import UserError
    from modelport.packaging import build_image

    pkg = Model.package(ws, [digits], None, generate_dockerfile=True)
    context = pkg.save(tmp_path / "ctx")
    with pytest.raises(
        UserError, match=r"podman build of localhost/mp-test-bad:1 failed \(exit \d+\): .+"
    ):
        build_image(context, "localhost/mp-test-bad:1", base_image="localhost/mp-no-such-base:1",
                    fetch_wheels=False, log=lambda _line: None)  # fmt: skip
