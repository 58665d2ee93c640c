"""Services API validation at the REST level: refusals never create a service or an operation.

In process (a server subprocess cost ~3 s of the 4 s this module took)."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.deploy_support import WS, deploy, register_model


@pytest.fixture
def client(api: httpx.Client) -> httpx.Client:
    """The in-process server (tests/server/api/conftest.py): refusals need no process."""
    return api


def test_typo_in_deployment_config_is_400_naming_the_key(client: httpx.Client) -> None:
    r = deploy(client, "typo-svc", script="def init(): pass\ndef run(x): return x\n",
               config={"computeType": "local", "prot": 8080})  # fmt: skip
    assert r.status_code == 400
    assert "'prot'" in r.json()["message"] and "port" in r.json()["message"]
    assert client.get(f"{WS}/services/typo-svc").status_code == 404


def test_typo_in_request_body_is_400_naming_the_key(client: httpx.Client) -> None:
    r = client.post(f"{WS}/services", json={"name": "typo-body", "modles": []})
    assert r.status_code == 400
    assert "'modles'" in r.json()["message"]


def test_typo_in_inference_config_is_400_naming_the_key(client: httpx.Client) -> None:
    r = client.post(
        f"{WS}/services",
        json={"name": "typo-ic", "models": [], "inferenceConfig": {"entryscript": "score.py"}},
    )
    assert r.status_code == 400
    assert "'entryscript'" in r.json()["message"] and "entryScript" in r.json()["message"]


def test_bad_service_name_quotes_the_rule(client: httpx.Client) -> None:
    r = deploy(client, "Bad_Name", script="def init(): pass\ndef run(x): return x\n")
    assert r.status_code == 400
    assert "lowercase" in r.json()["message"]


def test_unknown_model_is_404(client: httpx.Client) -> None:
    r = deploy(client, "nomodel", models=["missing:3"], script="def init(): pass\n")
    assert r.status_code == 404
    assert "missing:3" in r.json()["message"]


def test_entry_script_missing_from_snapshot_is_400(client: httpx.Client) -> None:
    r = client.post(
        f"{WS}/services",
        json={"name": "noscript", "models": [], "inferenceConfig": {"entryScript": "score.py"}},
    )
    assert r.status_code == 400
    assert "score.py" in r.json()["message"]


def test_key_and_token_auth_together_is_400(client: httpx.Client) -> None:
    r = deploy(client, "both-auth", script="def init(): pass\ndef run(x): return x\n",
               config={"computeType": "local", "authEnabled": True, "tokenAuthEnabled": True})  # fmt: skip
    assert r.status_code == 400
    assert "authEnabled" in r.json()["message"] and "tokenAuthEnabled" in r.json()["message"]


def test_no_code_needs_exactly_one_supported_model(client: httpx.Client) -> None:
    r = deploy(client, "nocode-zero")
    assert r.status_code == 400
    assert r.json()["message"] == (
        "You must provide an InferenceConfig when deploying zero or multiple models"
    )
    register_model(client, "tf-model", "saved.pb", b"tf", framework="TensorFlow")
    r = deploy(client, "nocode-tf", models=["tf-model:1"])
    assert r.status_code == 400
    assert "model_framework set to TensorFlow" in r.json()["message"]


def test_aks_without_an_attached_cluster_is_400_naming_the_attach_command(
    client: httpx.Client,
) -> None:
    r = deploy(client, "aks-svc", script="def init(): pass\ndef run(x): return x\n",
               config={"computeType": "AKS", "numReplicas": 1, "autoScaler": {"autoscaleEnabled": False}})  # fmt: skip
    assert r.status_code == 400
    assert "modelport target attach kubernetes" in r.json()["message"]


def test_update_with_empty_body_is_400_and_missing_service_404(client: httpx.Client) -> None:
    r = client.patch(f"{WS}/services/nothere", json={})
    assert r.status_code in (400, 404)
    r = client.get(f"{WS}/services/nothere")
    assert r.status_code == 404
    assert r.json()["message"]


def test_services_list_is_a_page(client: httpx.Client) -> None:
    r = client.get(f"{WS}/services")
    assert r.status_code == 200
    assert set(r.json()) == {"value", "next"}


def test_unknown_operation_is_404(client: httpx.Client) -> None:
    assert client.get(f"{WS}/operations/0000").status_code == 404
