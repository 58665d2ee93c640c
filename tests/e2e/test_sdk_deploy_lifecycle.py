"""The v1 SDK workflow against a real workspace server, real replicas and a real environment:
Model.deploy → wait_for_deployment → run → update/reload under load → delete."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import pytest

from modelport import InferenceConfig, Model, Webservice, Workspace
from modelport.errors import NotFound, UserError
from modelport.sdk.webservice import WebserviceException
from modelport.webservice import LocalWebservice
from tests.conftest import ServerProcess
from tests.e2e import sdk_deploy_support as fixtures
from tests.e2e.deploy_support import digits_rows, port_is_free, replica_pids, wait_until
from tests.e2e.sdk_deploy_support import (
    digits_config,
    echo_config,
    minimal_environment,
    write_source,
)

# module-scoped fixtures shared by the deployment tests
deploy_server = fixtures.deploy_server
digits = fixtures.digits
ws = fixtures.ws

pytestmark = pytest.mark.timeout(600)


def _expected(rows: list[list[float]]) -> list[int]:
    import io

    import joblib

    from tests.e2e.deploy_support import digits_model

    return [int(v) for v in joblib.load(io.BytesIO(digits_model())).predict(rows)]


def test_deploy_digits_is_healthy_and_run_gives_the_predictions(
    ws: Workspace,
    digits: Model,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = LocalWebservice.deploy_configuration()
    service = Model.deploy(ws, "digits-sdk", [digits], digits_config(tmp_path / "src"), config)
    assert isinstance(service, LocalWebservice)
    service.wait_for_deployment(show_output=True, timeout_sec=300)
    out = capsys.readouterr().out
    assert "Environment digits-env" in out  # environment build or reuse streamed
    assert "[rev-1/replica-0]" in out  # replica start streamed
    assert 'Local service creation operation finished, operation "Succeeded"' in out

    assert service.state == "Healthy" and service.error is None
    assert service.scoring_uri == f"http://127.0.0.1:{service.port}/score"
    assert service.swagger_uri == f"http://127.0.0.1:{service.port}/swagger.json"
    assert service.model_ids == [digits.id] and service.models == [digits]
    rows = digits_rows(4)
    assert service.run({"data": rows}) == _expected(rows)
    plain = httpx.post(service.scoring_uri, json={"data": rows}, timeout=30)
    assert plain.status_code == 200 and plain.json() == _expected(rows)

    again = Webservice(ws, "digits-sdk")
    assert isinstance(again, LocalWebservice) and again.state == "Healthy"
    assert [s.name for s in Webservice.list(ws, model_name="digits")] == ["digits-sdk"]
    assert Webservice.list(ws, compute_type="ACI") == []
    assert "digits-sdk" in ws.webservices
    assert "[rev-1/replica-0]" not in service.get_logs(num_lines=5000)  # raw sections there
    assert "==> rev-1/replica-0" in service.get_logs()

    with pytest.raises(UserError, match=r"No parameters provided to update\."):
        service.update()
    # a second deploy of the same name needs overwrite=True
    with pytest.raises(UserError, match="digits-sdk"):
        Model.deploy(ws, "digits-sdk", [digits], digits_config(tmp_path / "src"), config)


def test_broken_entry_script_fails_with_the_cause_and_the_log_tail(
    ws: Workspace, tmp_path: Path
) -> None:
    script = "def init():\n    raise RuntimeError('model file is corrupt')\n\ndef run(raw):\n    return raw\n"
    write_source(tmp_path / "src", script)
    config = InferenceConfig(
        entry_script="score.py",
        source_directory=str(tmp_path / "src"),
        environment=minimal_environment(),
    )
    service = Model.deploy(ws, "broken-init", [], config)
    with pytest.raises(WebserviceException) as info:
        service.wait_for_deployment(timeout_sec=300)
    err = info.value
    text = str(err)
    assert "current service state: Failed" in text
    assert f"Operation ID: {service._operation_id}" in text
    assert err.code == "InitFailed", text
    assert "model file is corrupt" in text  # the log tail names the real cause
    assert service.state == "Failed" and service.error and service.error["code"] == "InitFailed"
    service.delete()


def test_update_while_scoring_continuously_loses_no_request(ws: Workspace, tmp_path: Path) -> None:
    service = Model.deploy(ws, "rolling", [], echo_config(tmp_path / "v1", "1"))
    service.wait_for_deployment(timeout_sec=300)
    assert service.scoring_uri is not None
    results: list[tuple[int, str]] = []
    stop = threading.Event()

    def score() -> None:
        with httpx.Client(timeout=30) as http:
            while not stop.is_set():
                try:
                    r = http.post(service.scoring_uri or "", content=b'{"data": 1}')
                    results.append(
                        (r.status_code, r.json()["version"] if r.status_code == 200 else r.text)
                    )
                except httpx.HTTPError as exc:
                    results.append((0, repr(exc)))

    thread = threading.Thread(target=score)
    thread.start()
    try:
        wait_until(lambda: len(results) > 10, 30, "requests before the update")
        service.update(inference_config=echo_config(tmp_path / "v2", "2"), wait=True)
        seen = len(results)
        wait_until(lambda: len(results) > seen + 10, 30, "requests after the update")
    finally:
        stop.set()
        thread.join(timeout=30)
    failures = [r for r in results if r[0] != 200]
    assert failures == [], failures[:5]
    versions = [v for _, v in results]
    assert versions[0] == "1" and versions[-1] == "2"
    assert service.state == "Healthy" and service.revision == 2

    # reload: edit the source in place, restart without a rebuild
    write_source(
        tmp_path / "v2", "def init():\n    pass\n\ndef run(raw):\n    return {'version': '3'}\n"
    )
    service.reload(wait=True)
    assert service.run({"data": 1}) == {"version": "3"}

    # an update that never becomes healthy: reported with its cause, the old revision serves on
    broken = tmp_path / "broken"
    write_source(
        broken, "def init():\n    raise ValueError('bad weights')\n\ndef run(raw):\n    return 0\n"
    )
    with pytest.raises(WebserviceException) as info:
        service.update(
            inference_config=InferenceConfig(
                entry_script="score.py",
                source_directory=str(broken),
                environment=minimal_environment(),
            ),
            wait=True,
        )
    assert info.value.code == "InitFailed" and "bad weights" in str(info.value)
    assert "current service state: Healthy" in str(info.value)
    assert service.state == "Healthy" and service.revision == 3
    assert service.run({"data": 1}) == {"version": "3"}
    service.delete()


def test_delete_leaves_no_process_and_frees_the_port(
    ws: Workspace, deploy_server: ServerProcess, tmp_path: Path
) -> None:
    service = Model.deploy(ws, "to-delete", [], echo_config(tmp_path / "src", "1"))
    assert service.state == "Transitioning"
    assert service.run({"data": 1})["version"] == "1"  # v1's local run waits for the deploy
    port = service.port
    assert port and not port_is_free(port)
    pids = [p for p in replica_pids(deploy_server.home) if _service_of(p) == "to-delete"]
    assert pids
    service.delete()
    assert port_is_free(port)
    wait_until(lambda: not any(Path(f"/proc/{p}").exists() for p in pids), 10, "replicas gone")
    with pytest.raises(NotFound, match="to-delete"):
        Webservice(ws, "to-delete")
    with pytest.raises(NotFound, match=r"No service with name to-delete found to delete\."):
        service.delete()


def test_key_auth_run_fetches_a_key_after_401_and_keys_rotate(
    ws: Workspace, deploy_server: ServerProcess, tmp_path: Path
) -> None:
    config = LocalWebservice.deploy_configuration(auth_enabled=True)
    service = Model.deploy(ws, "keyed", [], echo_config(tmp_path / "src", "1"), config)
    service.wait_for_deployment(timeout_sec=300)
    assert service.auth_enabled and not service.token_auth_enabled
    assert httpx.post(service.scoring_uri or "", content=b"{}", timeout=30).status_code == 401
    assert service.run({"data": 1})["version"] == "1"  # 401 → get_keys()[0] → retry
    primary, secondary = service.get_keys()
    service.regen_key("primary", set_key="a-key-of-my-own-choosing-0123456789")
    assert service.get_keys() == ("a-key-of-my-own-choosing-0123456789", secondary)
    headers = {"Authorization": "Bearer a-key-of-my-own-choosing-0123456789"}
    deadline = time.monotonic() + 10
    status = 0
    while time.monotonic() < deadline and status != 200:
        status = httpx.post(service.scoring_uri or "", content=b"{}", headers=headers).status_code
    assert status == 200
    assert primary != "a-key-of-my-own-choosing-0123456789"
    with pytest.raises(UserError, match="'Primary' or 'Secondary'"):
        service.regen_key("Tertiary")
    import json

    from tests.e2e.sdk_deploy_support import cli

    new_secondary = "the-cli-set-this-secondary-key-0123"
    proc = cli(
        deploy_server,
        ["service", "regen-key", "-n", "keyed", "-k", "secondary", "--set-key", new_secondary,
         "-o", "json"],
        tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["secondaryKey"] == new_secondary
    keys = cli(deploy_server, ["service", "get-keys", "-n", "keyed", "-o", "json"], tmp_path)
    assert json.loads(keys.stdout) == {
        "primaryKey": "a-key-of-my-own-choosing-0123456789",
        "secondaryKey": new_secondary,
    }
    with pytest.raises(UserError, match="token auth"):
        service.get_token()
    service.delete()


def _service_of(pid: int) -> str | None:
    try:
        env = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return None
    for item in env:
        if item.startswith(b"AML_APP_ROOT="):
            parts = item.decode().split("/")
            if "services" in parts:
                return parts[parts.index("services") + 2]
    return None


def test_models_may_be_ids_bare_names_or_local_paths(
    ws: Workspace, digits: Model, tmp_path: Path
) -> None:
    from modelport.sdk.deploy import model_refs

    local = tmp_path / "extra model.pkl"
    local.write_bytes(b"weights")
    refs = model_refs(ws, [digits, "digits:1", "digits", str(local)])
    assert refs[:3] == [digits.id, "digits:1", digits.id]
    registered = Model(ws, id=refs[3])  # registered under the file's name, made valid
    assert registered.name == "extra-model.pkl" and registered.version == 1
    with pytest.raises(NotFound):
        model_refs(ws, ["no-such-model"])
    with pytest.raises(UserError, match="is not 'name:version'"):
        model_refs(ws, ["digits:latest"])


def test_token_auth_service_issues_tokens_through_sdk_and_cli(
    ws: Workspace, deploy_server: ServerProcess, tmp_path: Path
) -> None:
    import datetime as dt
    import json

    from tests.e2e.sdk_deploy_support import cli

    config = LocalWebservice.deploy_configuration(token_auth_enabled=True)
    service = Model.deploy(ws, "tokened", [], echo_config(tmp_path / "src", "1"), config)
    service.wait_for_deployment(timeout_sec=300)
    assert service.token_auth_enabled and not service.auth_enabled
    token, refresh_by = service.get_token()
    assert token.count(".") == 2  # a JWT
    assert refresh_by > dt.datetime.now(dt.UTC)
    assert httpx.post(service.scoring_uri or "", content=b"{}", timeout=30).status_code == 401
    assert service.run({"data": 1})["version"] == "1"  # 401 → get_token() → retry
    bearer = {"Authorization": f"Bearer {token}"}
    assert httpx.post(service.scoring_uri or "", content=b"{}", headers=bearer).status_code == 200
    proc = cli(
        deploy_server, ["service", "get-access-token", "-n", "tokened", "-o", "json"], tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    answer = json.loads(proc.stdout)
    assert answer["tokenType"] == "Bearer" and answer["accessToken"].count(".") == 2
    assert dt.datetime.fromisoformat(answer["refreshBy"]) > dt.datetime.now(dt.UTC)
    service.delete()


def test_wait_past_timeout_raises_and_the_deployment_goes_on(ws: Workspace, tmp_path: Path) -> None:
    from modelport.sdk.webservice import OperationTimeout

    slow = "import time\n\ndef init():\n    time.sleep(3)\n\ndef run(raw):\n    return 'slow'\n"
    write_source(tmp_path / "src", slow)
    config = InferenceConfig(
        entry_script="score.py",
        source_directory=str(tmp_path / "src"),
        environment=minimal_environment(),
    )
    service = Model.deploy(ws, "slow-init", [], config)
    with pytest.raises(OperationTimeout, match=r"timeout of 0\.5 s"):
        service.wait_for_deployment(timeout_sec=0.5)
    service.wait_for_deployment(timeout_sec=300)
    assert service.state == "Healthy" and service.run("x") == "slow"
    service.delete()


def test_no_code_deployment_of_one_scikit_learn_model(ws: Workspace, digits: Model) -> None:
    service = Model.deploy(ws, "digits-nocode", [digits])  # no InferenceConfig, local defaults
    service.wait_for_deployment(timeout_sec=300)
    rows = digits_rows(2)
    assert service.run({"data": rows}) == _expected(rows)
    service.delete()


def test_aci_configuration_gives_an_aci_webservice(ws: Workspace, tmp_path: Path) -> None:
    from modelport.webservice import AciWebservice

    config = AciWebservice.deploy_configuration(cpu_cores=0.5, memory_gb=1, tags={"kind": "aci"})
    service = Model.deploy(ws, "aci-echo", [], echo_config(tmp_path / "src", "1"), config)
    service.wait_for_deployment(timeout_sec=300)
    again = Webservice(ws, "aci-echo")
    assert isinstance(service, AciWebservice) and isinstance(again, AciWebservice)
    assert again.compute_type == "ACI" and again.tags == {"kind": "aci"}
    assert again.deployment_config["containerResourceRequirements"] == {"cpu": 0.5, "memoryInGB": 1}
    assert [s.name for s in Webservice.list(ws, compute_type="aci")] == ["aci-echo"]
    assert service.run({"data": 1})["version"] == "1"
    service.delete()
