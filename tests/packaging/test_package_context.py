"""Package build contexts through the real workspace server and SDK: contents, layout, no-code,
and the 4xx answers of bad requests. No image is built here (test_package_image.py does)."""

from __future__ import annotations

import json
import tarfile
import time
from pathlib import Path
from typing import Any

import pytest

from modelport import Model, Workspace
from modelport.errors import NotFound, UserError
from modelport.sdk.package import ModelPackage
from tests.e2e import sdk_deploy_support as fixtures
from tests.e2e.sdk_deploy_support import digits_config

# module-scoped fixtures shared with the deployment tests (one server, the shared env cache)
deploy_server = fixtures.deploy_server
digits = fixtures.digits
ws = fixtures.ws


@pytest.fixture(scope="module")
def digits_package(
    ws: Workspace, digits: Model, tmp_path_factory: pytest.TempPathFactory
) -> ModelPackage:
    folder = tmp_path_factory.mktemp("src")
    (folder / "helpers").mkdir(parents=True)
    (folder / "helpers" / "util.py").write_text("X = 1\n")
    pkg = Model.package(
        ws, [digits], digits_config(folder), generate_dockerfile=True,
        image_name="digits-pkg", image_label="v1",
    )  # fmt: skip
    pkg.wait_for_creation(show_output=False, timeout=300)
    return pkg


def test_context_holds_the_service_layout(digits_package: ModelPackage, tmp_path: Path) -> None:
    assert digits_package.state == "Succeeded"
    ctx = digits_package.save(tmp_path / "ctx")
    app = ctx / "app"
    # models exactly as in a service: azureml-models/NAME/VERSION/...
    assert (app / "azureml-models" / "digits" / "1" / "digits.pkl").is_file()
    assert (app / "score.py").is_file() and (app / "helpers" / "util.py").is_file()
    lock = (ctx / "requirements.lock.txt").read_text()
    assert "scikit-learn==" in lock and "httptools==" in lock  # user's packages + serving runtime
    assert (ctx / "runtime" / "modelport" / "serving" / "__main__.py").is_file()
    assert not (ctx / "runtime" / "modelport" / "server").exists()  # no control plane in images
    manifest = json.loads((ctx / "package.json").read_text())
    assert manifest["models"] == ["digits:1"]
    assert manifest["entryScript"] == "score.py"
    assert manifest["modelDir"] == "azureml-models/digits/1"
    assert manifest["baseImage"].startswith("python:3.") and manifest["baseImage"].endswith(
        "-slim-bookworm"
    )
    dockerfile = (ctx / "Dockerfile").read_text()
    for line in (
        "USER 10001:0",
        "EXPOSE 5001",
        "HEALTHCHECK ",
        'AZUREML_MODEL_DIR="/var/azureml-app/azureml-models/digits/1"',
        'AZUREML_ENTRY_SCRIPT="score.py"',
        "--only-binary :all:",
        "pip uninstall -y -q pip setuptools wheel",
        "COPY --from=build /opt/modelport /opt/modelport",
    ):
        assert line in dockerfile, line
    assert dockerfile.count("FROM ${BASE_IMAGE}") == 2  # the final stage starts clean


def test_record_and_location(ws: Workspace, digits_package: ModelPackage) -> None:
    data = digits_package.serialize()
    assert data["packageType"] == "DockerBuildContext"
    assert data["imageName"] == "digits-pkg" and data["imageLabel"] == "v1"
    assert data["location"].endswith(f"/packages/{digits_package.id}/context")
    assert "Build context ready" in digits_package.get_logs()
    with pytest.raises(UserError, match="MODELPORT_REGISTRY"):
        digits_package.get_container_registry()


def test_no_code_package(ws: Workspace, digits: Model, tmp_path: Path) -> None:
    pkg = Model.package(ws, [digits], None, generate_dockerfile=True)
    pkg.wait_for_creation(timeout=300)
    ctx = pkg.save(tmp_path / "nocode")
    manifest = json.loads((ctx / "package.json").read_text())
    assert (
        manifest["noCode"] == "ScikitLearn"
        and manifest["entryScript"] == "modelport_nocode_score.py"
    )
    assert (ctx / "app" / "modelport_nocode_score.py").is_file()
    assert pkg.image_name == "digits"  # one model: named after it


def test_tarball_is_reproducible(deploy_server: Any, digits_package: ModelPackage) -> None:
    client = deploy_server.client()
    url = f"/workspaces/default/packages/{digits_package.id}/context"
    first, second = client.get(url), client.get(url)
    assert first.status_code == 200 and first.headers["content-type"] == "application/gzip"
    assert first.content == second.content
    import io

    with tarfile.open(fileobj=io.BytesIO(first.content), mode="r:gz") as tar:
        members = tar.getmembers()
    assert all(m.mtime == 0 and m.uid == 0 and m.mode in (0o644, 0o755) for m in members)
    assert "Dockerfile" in {m.name for m in members}


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        ({"models": ["digits:1"], "imageNam": "x"}, 400, "did you mean 'imageName'"),
        ({"models": ["nope:1"]}, 404, "nope:1 not found"),
        ({"models": []}, 400, "non-empty list"),
        ({"models": ["digits:1", "digits:1"]}, 400, "InferenceConfig"),
        ({"models": ["digits:1"], "imageName": "Bad Name"}, 400, "imageName"),
        ({"service": "nope-svc"}, 404, "nope-svc"),
    ],
)
def test_bad_requests(
    deploy_server: Any, digits: Model, body: dict[str, Any], status: int, fragment: str
) -> None:
    answer = deploy_server.client().post("/workspaces/default/packages", json=body)
    assert answer.status_code == status, answer.text
    assert fragment in answer.json()["message"]


def test_unknown_package(deploy_server: Any, ws: Workspace) -> None:
    client = deploy_server.client()
    assert client.get("/workspaces/default/packages/20260101000000-0000abcd").status_code == 404
    with pytest.raises(NotFound):
        ModelPackage(ws, {"id": "20260101000000-0000abcd", "state": "Running", "imageName": "x",
                          "imageLabel": "y", "location": ""}).refresh()  # fmt: skip


def test_inference_config_base_image_is_honoured(deploy_server: Any, digits: Model) -> None:
    """v1's ``baseImage`` becomes the Dockerfile's default BASE_IMAGE; the request's wins over it."""
    from tests.e2e.deploy_support import DIGITS_SCORE, MINIMAL, snapshot

    client = deploy_server.client()
    body = {
        "models": ["digits:1"],
        "inferenceConfig": {"entryScript": "score.py", "baseImage": "example.org/py:3.11"},
        "sourceSnapshot": snapshot(client, {"score.py": DIGITS_SCORE}),
        "environment": MINIMAL,
    }
    for extra, expected in (
        ({}, "example.org/py:3.11"),
        ({"baseImage": "other/py:3.11"}, "other/py:3.11"),
    ):
        answer = client.post("/workspaces/default/packages", json={**body, **extra})
        assert answer.status_code == 202, answer.text
        url = f"/workspaces/default/packages/{answer.json()['id']}"
        deadline = time.monotonic() + 240
        while (record := client.get(url).json())["state"] == "Running":
            assert time.monotonic() < deadline, "package not created in 240 s"
            time.sleep(0.2)
        assert record["state"] == "Succeeded", record
        assert record["baseImage"] == expected


def test_a_package_lost_with_its_server_reads_failed(
    deploy_server: Any, digits_package: ModelPackage
) -> None:
    """A Running record written by another server process (one that died) is Failed, not stuck."""
    folder = deploy_server.home / "packages" / "default" / "20250101000000-deadbeef"
    folder.mkdir(parents=True)
    record = json.loads(
        (
            deploy_server.home / "packages" / "default" / digits_package.id / "record.json"
        ).read_text()
    )
    record.update(id="20250101000000-deadbeef", state="Running", instance="a-dead-process")
    (folder / "record.json").write_text(json.dumps(record))
    client = deploy_server.client()
    url = "/workspaces/default/packages/20250101000000-deadbeef"
    answer = client.get(url).json()
    assert answer["state"] == "Failed" and answer["error"]["code"] == "Interrupted"
    assert client.get(url + "/context").status_code == 409
    assert client.delete(url).status_code == 204
    assert client.get(url).status_code == 404


def test_environment_variables_become_env_lines(
    ws: Workspace, digits: Model, tmp_path: Path
) -> None:
    from tests.e2e.sdk_deploy_support import write_source

    folder = write_source(
        tmp_path / "src", "def init():\n    pass\n\ndef run(raw):\n    return raw\n"
    )
    env = {"name": "pkg-vars-env", "environmentVariables": {"GREETING": 'say "hi" to $USER'}}
    from modelport import InferenceConfig

    ic = InferenceConfig(entry_script="score.py", source_directory=str(folder), environment=env)
    pkg = Model.package(ws, [digits], ic, generate_dockerfile=True)
    pkg.wait_for_creation(timeout=300)
    dockerfile = (pkg.save(tmp_path / "ctx") / "Dockerfile").read_text()
    assert 'GREETING="say \\"hi\\" to \\$USER"' in dockerfile  # quoted: no expansion, no breakage
    assert "written into the image as ENV: GREETING" in pkg.get_logs()
