"""Models in a deployment: the AZUREML_MODEL_DIR rule, ONNX no-code, environment build failures,
and a replica that keeps crashing."""

from __future__ import annotations

import io
import os
import signal

import httpx

from tests.conftest import ServerProcess
from tests.e2e.deploy_support import (
    WS,
    delete_and_wait,
    deploy,
    deployed,
    digits_rows,
    module_server,
    register_model,
    replica_pids,
    wait_state,
    wait_until,
)

server = module_server("models")


MODEL_DIR_SCRIPT = """
import os

def init():
    pass

def run(raw):
    root = os.environ["AZUREML_MODEL_DIR"]
    found = sorted(
        os.path.relpath(os.path.join(d, f), root) for d, _, fs in os.walk(root) for f in fs
    )
    return {"dir": os.path.relpath(root, os.environ["AML_APP_ROOT"]), "files": found,
            "same": os.environ["MODELPORT_MODEL_DIR"] == root}
"""


def test_model_dir_is_the_version_folder_for_one_model_and_the_root_for_several(
    server: ServerProcess,
) -> None:
    client = server.client()
    register_model(client, "alpha", "a.bin", b"alpha weights")
    register_model(client, "beta", "b.bin", b"beta weights")
    one = deployed(client, deploy(client, "one-model", models=["alpha:1"], script=MODEL_DIR_SCRIPT))
    answer = httpx.post(one["scoringUri"], content=b"{}", timeout=10).json()
    assert answer == {"dir": "azureml-models/alpha/1", "files": ["a.bin"], "same": True}
    two = deployed(
        client, deploy(client, "two-models", models=["alpha:1", "beta:1"], script=MODEL_DIR_SCRIPT)
    )
    answer = httpx.post(two["scoringUri"], content=b"{}", timeout=10).json()
    assert answer["dir"] == "azureml-models"
    assert answer["files"] == ["alpha/1/a.bin", "beta/1/b.bin"]
    listed = client.get(f"{WS}/services", params={"modelName": "beta"}).json()["value"]
    assert [s["name"] for s in listed] == ["two-models"]
    listed = client.get(f"{WS}/services", params={"modelId": "alpha:1"}).json()["value"]
    assert sorted(s["name"] for s in listed) == ["one-model", "two-models"]
    # updating to other models moves the usage: beta becomes deletable
    r = client.patch(f"{WS}/services/two-models", json={"models": ["alpha:1"]})
    assert deployed(client, r)["models"] == ["alpha:1"]
    assert client.delete(f"{WS}/models/beta/versions/1").status_code == 204
    delete_and_wait(client, "one-model")
    delete_and_wait(client, "two-models")


def test_no_code_onnx_model_scores(server: ServerProcess) -> None:
    from skl2onnx import to_onnx
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression

    x, y = load_digits(return_X_y=True)
    model = LogisticRegression(max_iter=200).fit(x[:300], y[:300])
    onx = to_onnx(model, x[:1].astype("float32"), options={"zipmap": False})
    buf = io.BytesIO(onx.SerializeToString())
    client = server.client()
    register_model(client, "digits-onnx", "digits.onnx", buf.getvalue(), framework="Onnx")
    service = deployed(client, deploy(client, "onnx-svc", models=["digits-onnx:1"]))
    assert service["state"] == "Healthy", service
    answer = httpx.post(service["scoringUri"], json={"data": digits_rows(2)}, timeout=30)
    assert answer.status_code == 200, answer.text
    labels = answer.json()["label"]
    assert len(labels) == 2 and all(0 <= v <= 9 for v in labels)
    delete_and_wait(client, "onnx-svc")


def test_environment_that_cannot_resolve_fails_with_environment_build_failed(
    server: ServerProcess,
) -> None:
    client = server.client()
    env = {
        "name": "impossible",
        "python": {"condaDependencies": {"dependencies": [{"pip": ["scikit-learn==0.0.1"]}]}},
    }
    service = deployed(
        client,
        deploy(
            client, "no-env", script="def init(): pass\ndef run(x): return x\n", environment=env
        ),
    )
    assert service["state"] == "Failed", service
    assert service["error"]["code"] == "EnvironmentBuildFailed", service["error"]
    assert "scikit-learn" in service["error"]["message"]
    assert not replica_pids(server.home)
    delete_and_wait(client, "no-env")


CRASH_AFTER_FIRST_START = """
import os

MARK = os.path.join(os.environ["AML_APP_ROOT"], "..", "started-once")

def init():
    if os.path.exists(MARK):
        raise RuntimeError("second start: refusing")
    open(MARK, "w").close()

def run(raw):
    return "ok"
"""


def test_replica_that_keeps_crashing_turns_the_service_failed(server: ServerProcess) -> None:
    client = server.client()
    service = deployed(client, deploy(client, "crashy", script=CRASH_AFTER_FIRST_START))
    assert service["state"] == "Healthy", service
    (pid,) = replica_pids(server.home)
    os.kill(pid, signal.SIGKILL)
    failed = wait_state(client, "crashy", ("Failed",), 90)
    assert failed["error"]["code"] == "CrashLoop", failed["error"]
    assert any("second start" in line for line in failed["error"]["details"]), failed["error"]
    delete_and_wait(client, "crashy")
    wait_until(lambda: not replica_pids(server.home), 30, "no replica left")


def test_aci_service_runs_with_its_limits_reported(server: ServerProcess) -> None:
    client = server.client()
    config = {"computeType": "ACI", "containerResourceRequirements": {"cpu": 1, "memoryInGB": 1}}
    service = deployed(
        client,
        deploy(client, "aci-svc", script="def init(): pass\ndef run(x): return 'aci'\n",
               config=config),
    )  # fmt: skip
    assert service["state"] == "Healthy", service
    assert service["computeType"] == "ACI"
    (replica,) = service["replicas"]
    assert replica["ready"] and replica["limits"], replica
    assert (
        client.get(f"{WS}/services", params={"computeType": "aci"}).json()["value"][0]["name"]
        == "aci-svc"
    )
    assert httpx.post(service["scoringUri"], content=b"{}", timeout=10).json() == "aci"
    delete_and_wait(client, "aci-svc")
