"""Compute targets on a real workspace server: attach, list, show, detach (SDK, CLI, REST)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from modelport.errors import Conflict, NotFound, UserError
from modelport.sdk.compute_target import ComputeTarget, KubernetesCompute
from modelport.sdk.workspace import Workspace
from tests.cli.conftest import assert_one_line_error, run_cli
from tests.conftest import ServerProcess

SECRET_TOKEN = "sekret-token-never-shown"


def _kubeconfig(path: Path, contexts: tuple[str, ...] = ("dev", "prod")) -> Path:
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": contexts[0],
                "clusters": [
                    {"name": c, "cluster": {"server": f"https://{c}.example:6443"}}
                    for c in contexts
                ],
                "users": [{"name": "u", "user": {"token": SECRET_TOKEN}}],
                "contexts": [
                    {"name": c, "context": {"cluster": c, "user": "u", "namespace": f"{c}-ns"}}
                    for c in contexts
                ],
            }
        )
    )
    return path


@pytest.fixture(scope="module")
def ws(workspace_server: ServerProcess) -> Iterator[Workspace]:
    with pytest.MonkeyPatch.context() as mp:
        for key, value in workspace_server.env.items():
            mp.setenv(key, value)
        yield Workspace.create(f"k-{uuid.uuid4().hex[:12]}")


def test_sdk_attach_list_show_detach(ws: Workspace, tmp_path: Path) -> None:
    config = KubernetesCompute.attach_configuration(
        _kubeconfig(tmp_path / "kc"), context="prod", image_registry="registry.example/ml"
    )
    target = ComputeTarget.attach(ws, "prod", config)
    assert (target.name, target.context, target.namespace) == ("prod", "prod", "prod-ns")
    assert target.cluster_server == "https://prod.example:6443"
    assert target.image_registry == "registry.example/ml"
    assert SECRET_TOKEN not in json.dumps(target.serialize())
    assert [t.name for t in ComputeTarget.list(ws)] == ["prod"]
    shown = ComputeTarget(ws, "prod").serialize()
    assert shown["services"] == [] and SECRET_TOKEN not in json.dumps(shown)
    with pytest.raises(Conflict, match="already attached"):
        ComputeTarget.attach(ws, "prod", config)
    target.detach()
    assert ComputeTarget.list(ws) == []
    with pytest.raises(NotFound, match="compute target 'prod' not found"):
        ComputeTarget(ws, "prod")


@pytest.mark.parametrize(
    ("name", "context", "namespace", "message"),
    [
        ("x", None, None, "invalid compute target name 'x'"),
        ("prod", "staging", None, "context 'staging' is not in the kubeconfig (it has dev, prod)"),
        ("prod", None, "Bad_NS", "invalid namespace 'Bad_NS'"),
    ],
)
def test_bad_attach_requests_are_400_with_a_message(
    ws: Workspace,
    tmp_path: Path,
    name: str,
    context: str | None,
    namespace: str | None,
    message: str,
) -> None:
    config = KubernetesCompute.attach_configuration(
        _kubeconfig(tmp_path / "kc"), context, namespace
    )
    with pytest.raises(UserError, match=message.replace("(", r"\(").replace(")", r"\)")):
        ComputeTarget.attach(ws, name, config)


def test_not_a_kubeconfig_is_a_400(ws: Workspace, workspace_server: ServerProcess) -> None:
    answer = httpx.post(
        f"{workspace_server.url}/api/v1/workspaces/{ws.name}/computeTargets",
        json={"name": "prod", "kubeconfig": "just: text"},
        headers={"Authorization": f"Bearer {workspace_server.token}"},
    )
    assert answer.status_code == 400
    assert "no 'contexts' list" in answer.json()["message"]


def test_cli_attach_list_show_detach(
    ws: Workspace, workspace_server: ServerProcess, tmp_path: Path
) -> None:
    kc = _kubeconfig(tmp_path / "kc")
    env = workspace_server.env
    out = run_cli(
        "target",
        "attach",
        "kubernetes",
        "-w",
        ws.name,
        "-n",
        "dev",
        "--kubeconfig",
        str(kc),
        "--namespace",
        "ml",
        "-o",
        "json",
        env=env,
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["namespace"] == "ml"
    listed = run_cli("target", "list", "-w", ws.name, "-o", "json", env=env)
    assert [t["name"] for t in json.loads(listed.stdout)] == ["dev"]
    shown = run_cli("target", "show", "-w", ws.name, "-n", "dev", "-o", "json", env=env)
    assert json.loads(shown.stdout)["context"] == "dev"
    assert SECRET_TOKEN not in listed.stdout + shown.stdout
    missing = run_cli(
        "target",
        "attach",
        "kubernetes",
        "-w",
        ws.name,
        "-n",
        "other",
        "--kubeconfig",
        str(tmp_path / "nope"),
        env=env,
    )
    assert "kubeconfig file" in assert_one_line_error(missing)
    assert run_cli("target", "detach", "-w", ws.name, "-n", "dev", env=env).returncode == 0
    gone = run_cli("target", "show", "-w", ws.name, "-n", "dev", env=env)
    assert "compute target 'dev' not found" in assert_one_line_error(gone)


def _kinds(answer: dict[str, object]) -> dict[str, dict[str, object]]:
    return {o["kind"]: o for o in answer["objects"]}  # type: ignore[attr-defined,index]


def test_dry_run_manifests_use_the_attached_target(ws: Workspace, tmp_path: Path) -> None:
    import warnings

    from modelport.sdk.compute_target import render_kubernetes
    from modelport.webservice import AksWebservice

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        config = AksWebservice.deploy_configuration(
            autoscale_max_replicas=3, primary_key="key-one", compute_target_name="edge"
        )
    with pytest.raises(NotFound, match="compute target 'edge' not found"):
        render_kubernetes(ws, "digits-svc", config)
    attach = KubernetesCompute.attach_configuration(
        _kubeconfig(tmp_path / "kc"), image_registry="registry.example/ml"
    )
    target = ComputeTarget.attach(ws, "edge", attach)
    try:
        answer = render_kubernetes(ws, "digits-svc", config)
    finally:
        target.detach()
    objs = _kinds(answer)
    assert set(objs) == {"Secret", "Deployment", "Service", "HorizontalPodAutoscaler"}
    assert objs["Deployment"]["metadata"]["namespace"] == "dev-ns"  # type: ignore[index]
    container = objs["Deployment"]["spec"]["template"]["spec"]["containers"][0]  # type: ignore[index]
    assert container["image"] == f"registry.example/ml/{ws.name}/digits-svc:rev-1"
    doc = json.loads(objs["Secret"]["stringData"]["auth.json"])  # type: ignore[index]
    assert doc["mode"] == "key" and len(doc["keyHashes"]) == 1
    assert "key-one" not in json.dumps(answer)  # only the hash travels


def _dry_run(server: ServerProcess, ws: Workspace, config: Path, *extra: str) -> Any:
    args = ["model", "deploy", "-w", ws.name, "-n", "digits-svc", "--dc", str(config)]
    return run_cli(*args, "--dry-run", *extra, env=server.env)


def test_dry_run_cli_prints_yaml_and_notes(
    ws: Workspace, workspace_server: ServerProcess, tmp_path: Path
) -> None:
    dc = tmp_path / "aks.json"
    dc.write_text(json.dumps({"computeType": "AKS", "numReplicas": 2, "namespace": "prod"}))
    out = _dry_run(workspace_server, ws, dc, "-o", "yaml")
    assert out.returncode == 0, out.stderr
    docs = list(yaml.safe_load_all(out.stdout))
    assert [d["kind"] for d in docs] == ["Deployment", "Service"]  # Secret: made at deploy
    assert docs[0]["spec"]["replicas"] == 2 and docs[0]["metadata"]["namespace"] == "prod"
    assert "no Kubernetes target is attached" in out.stderr
    local = tmp_path / "local.json"
    local.write_text(json.dumps({"computeType": "local"}))
    refused = _dry_run(workspace_server, ws, local)
    assert "computeType is AKS or kubernetes" in assert_one_line_error(refused)
    named = _dry_run(workspace_server, ws, dc, "--ct", "nope")  # v1's --compute-target
    assert "compute target 'nope' not found" in assert_one_line_error(named)


def test_deploying_aks_without_an_attached_cluster_says_what_to_attach(
    ws: Workspace, workspace_server: ServerProcess
) -> None:
    def create(config: dict[str, object]) -> httpx.Response:
        return httpx.post(
            f"{workspace_server.url}/api/v1/workspaces/{ws.name}/services",
            json={"name": "aks-svc", "models": [], "deploymentConfig": config},
            headers={"Authorization": f"Bearer {workspace_server.token}"},
        )

    answer = create({"computeType": "AKS"})
    assert answer.status_code == 400
    message = answer.json()["message"]
    assert "has none attached" in message
    assert "modelport target attach kubernetes -n NAME --kubeconfig FILE" in message
    named = create({"computeType": "kubernetes", "computeTargetName": "edge", "numReplicas": 1})
    assert named.status_code == 400
    assert "computeTargetName: compute target 'edge' not found" in named.json()["message"]
