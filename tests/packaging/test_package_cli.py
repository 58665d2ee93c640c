"""``modelport model package`` as a real process against a real server: save a context, package a
deployed service, write an IoT Edge manifest, and the one-line errors (no builder, bad flags)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from modelport import Model, Workspace
from tests.conftest import ServerProcess
from tests.e2e import sdk_deploy_support as fixtures
from tests.e2e.sdk_deploy_support import cli, digits_config
from tests.packaging.iot_schema import SCHEMA

deploy_server = fixtures.deploy_server
digits = fixtures.digits
ws = fixtures.ws


def _ok(result: subprocess.CompletedProcess[str]) -> dict:  # type: ignore[type-arg]
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def _one_line_error(result: subprocess.CompletedProcess[str], fragment: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert fragment in result.stderr, result.stderr


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cli-src")
    config = digits_config(folder / "src")
    ic = folder / "inferenceconfig.json"
    ic.write_text(json.dumps({"entryScript": "score.py", "sourceDirectory": "src",
                              "environment": config.environment}))  # fmt: skip
    return folder


def test_save_context(deploy_server: ServerProcess, digits: Model, source: Path) -> None:
    out = source / "ctx"
    result = _ok(cli(deploy_server, [
        "model", "package", "-m", "digits:1", "--ic", "inferenceconfig.json", "--output-path",
        str(out), "--image-name", "digits-cli", "--image-label", "v2", "-o", "json",
    ], cwd=source))  # fmt: skip
    assert result["contextPath"] == str(out.resolve())
    assert result["imageName"] == "digits-cli" and result["state"] == "Succeeded"
    assert (out / "app" / "azureml-models" / "digits" / "1" / "digits.pkl").is_file()
    assert 'AZUREML_ENTRY_SCRIPT="score.py"' in (out / "Dockerfile").read_text()


def test_package_a_deployed_service(
    deploy_server: ServerProcess, ws: Workspace, digits: Model, source: Path
) -> None:
    service = Model.deploy(ws, "pkg-svc", [digits], digits_config(source / "svc-src"))
    service.wait_for_deployment(timeout_sec=300)
    assert service.state == "Healthy"
    out = source / "svc-ctx"
    result = _ok(cli(deploy_server, ["model", "package", "--service", "pkg-svc", "--output-path",
                                     str(out), "-o", "json"], cwd=source))  # fmt: skip
    assert result["service"] == "pkg-svc" and result["imageName"] == "pkg-svc"
    manifest = json.loads((out / "package.json").read_text())
    assert manifest["models"] == ["digits:1"] and manifest["entryScript"] == "score.py"
    # the image installs exactly the lock the running service was built with
    lock = (out / "requirements.lock.txt").read_text()
    assert "scikit-learn==" in lock
    service.delete()


def test_iot_manifest(deploy_server: ServerProcess, digits: Model, source: Path) -> None:
    (source / "iot.json").write_text(json.dumps({
        "computeType": "IOT", "iotDeviceId": "dev-1", "amlModule": {"moduleName": "digits"},
        "routes": {"up": "FROM /messages/modules/digits/outputs/* INTO $upstream"},
    }))  # fmt: skip
    out = source / "iot-ctx"
    result = cli(deploy_server, [
        "model", "package", "-m", "digits:1", "--image-name", "registry.example.com/digits",
        "--output-path", str(out), "--iot-manifest", "--dc", "iot.json", "-o", "json",
    ], cwd=source)  # fmt: skip
    data = _ok(result)
    doc = json.loads(Path(data["iotManifest"]).read_text())
    jsonschema.validate(doc, SCHEMA)
    modules = doc["modulesContent"]["$edgeAgent"]["properties.desired"]["modules"]
    assert modules["digits"]["settings"]["image"] == "localhost/registry.example.com/digits:latest" or \
        modules["digits"]["settings"]["image"].endswith("registry.example.com/digits:latest")  # fmt: skip
    assert "--device-id dev-1" in result.stderr


def test_errors_are_one_line(deploy_server: ServerProcess, digits: Model, source: Path) -> None:
    _one_line_error(cli(deploy_server, ["model", "package", "-m", "digits:1", "--iot-manifest"],
                        cwd=source), "--iot-manifest needs --dc")  # fmt: skip
    _one_line_error(cli(deploy_server, ["model", "package", "-m", "nope:3"], cwd=source),
                    "nope:3 not found")  # fmt: skip
    _one_line_error(cli(deploy_server, ["model", "package", "--service", "x", "-m", "digits:1"],
                        cwd=source), "either --service or -m")  # fmt: skip


def test_build_without_any_builder_says_so(deploy_server: ServerProcess, source: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELPORT_")}
    env |= deploy_server.env | {"PATH": str(source)}  # no podman, buildah or docker on PATH
    result = subprocess.run(
        [sys.executable, "-m", "modelport.cli.main", "model", "package", "-m", "digits:1", "--build"],
        cwd=source, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    _one_line_error(result, "No container image builder found")
