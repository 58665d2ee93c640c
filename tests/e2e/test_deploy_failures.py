"""Deployments that cannot work end Failed with a typed cause and the log lines that explain it."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest

from tests.conftest import ServerProcess
from tests.e2e.deploy_support import (
    WS,
    delete_and_wait,
    deploy,
    deployed,
    kill_leftovers,
    port_is_free,
    replica_pids,
    snapshot,
    start_deploy_server,
    tagged_script,
    wait_operation,
    wait_until,
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    from tests.conftest import start_server

    home = tmp_path_factory.mktemp("failures") / "home"
    home.mkdir()
    # short timeouts so Unschedulable and never-ready revisions turn Failed quickly
    settings = {"schedulingTimeoutSeconds": 3, "startupTimeoutSeconds": 15}
    (home / "deploy.json").write_text(json.dumps(settings))
    server = start_deploy_server(start_server, home)
    yield server
    server.stop()
    kill_leftovers(server.home)


def _failed(server: ServerProcess, name: str, **kw: object) -> dict[str, object]:
    client = server.client()
    service = deployed(client, deploy(client, name, **kw))  # type: ignore[arg-type]
    assert service["state"] == "Failed", service
    assert service["_operation"]["state"] == "Failed"
    # nothing of a failed service keeps running
    wait_until(lambda: not replica_pids(server.home), 30, "failed replicas to be gone")
    return service


def test_entry_script_that_cannot_import_fails_with_its_cause(server: ServerProcess) -> None:
    service = _failed(
        server, "broken-import", script="import not_a_module_anywhere\n\ndef init(): pass\n"
    )
    error = service["error"]
    assert error["code"] == "EntryScriptImportFailed", error  # type: ignore[index]
    assert any("not_a_module_anywhere" in line for line in error["details"])  # type: ignore[index]
    logs = server.client().get(f"{WS}/services/broken-import/logs").json()["content"]
    assert "not_a_module_anywhere" in logs
    delete_and_wait(server.client(), "broken-import")


def test_init_that_raises_fails_with_init_failed(server: ServerProcess) -> None:
    script = "def init():\n    raise ValueError('no weights here')\n\ndef run(x):\n    return x\n"
    service = _failed(server, "broken-init", script=script)
    error = service["error"]
    assert error["code"] == "InitFailed", error  # type: ignore[index]
    assert any("no weights here" in line for line in error["details"])  # type: ignore[index]
    delete_and_wait(server.client(), "broken-init")


def test_port_already_taken_fails_with_port_in_use(server: ServerProcess) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        service = _failed(
            server, "port-taken", script=tagged_script("p"),
            config={"computeType": "local", "port": port},
        )  # fmt: skip
    assert service["error"]["code"] == "PortInUse", service  # type: ignore[index]
    assert str(port) in service["error"]["message"]  # type: ignore[index]
    delete_and_wait(server.client(), "port-taken")


def test_revision_never_ready_fails_with_timeout_and_is_stopped(server: ServerProcess) -> None:
    service = _failed(server, "sleepy", script=tagged_script("z", init_seconds=600))
    error = service["error"]
    assert error["code"] == "Timeout", error  # type: ignore[index]
    assert "15 s" in error["message"]  # type: ignore[index]
    delete_and_wait(server.client(), "sleepy")


def test_more_cpu_than_the_machine_has_is_unschedulable_then_failed(server: ServerProcess) -> None:
    client = server.client()
    r = deploy(client, "too-big", script=tagged_script("b"),
               config={"computeType": "ACI", "containerResourceRequirements": {"cpu": 512, "memoryInGB": 0.5}})  # fmt: skip
    assert r.status_code == 202, r.text
    seen = set()

    def state_seen() -> bool:
        seen.add(client.get(f"{WS}/services/too-big").json()["state"])
        return "Unschedulable" in seen

    wait_until(state_seen, 30, "Unschedulable")
    op = wait_operation(client, r.json()["operation"]["id"], 60)
    assert op["state"] == "Failed" and op["error"]["code"] == "Unschedulable", op
    assert client.get(f"{WS}/services/too-big").json()["state"] == "Failed"
    delete_and_wait(client, "too-big")


def test_any_write_during_a_running_operation_is_409(server: ServerProcess) -> None:
    client = server.client()
    r = deploy(client, "busy", script=tagged_script("slow", init_seconds=4))
    assert r.status_code == 202
    op_id = r.json()["operation"]["id"]
    for attempt in (
        lambda: client.patch(f"{WS}/services/busy", json={"description": "x"}),
        lambda: client.post(f"{WS}/services/busy/reload", json={}),
        lambda: client.delete(f"{WS}/services/busy"),
        lambda: deploy(client, "busy", script=tagged_script("again"), overwrite=True),
        lambda: client.post(f"{WS}/services/busy/regenerateKeys", json={"keyType": "Primary"}),
    ):
        answer = attempt()
        assert answer.status_code == 409, answer.text
        assert op_id in answer.json()["message"]
    assert wait_operation(client, op_id)["state"] == "Succeeded"
    # a name that exists without overwrite is 409 too
    again = deploy(client, "busy", script=tagged_script("again"))
    assert again.status_code == 409
    # workspaces holding services cannot be deleted
    client.post("/workspaces", json={"name": "scratch"})
    assert client.delete(f"{WS}").status_code == 409
    port = client.get(f"{WS}/services/busy").json()["port"]
    delete_and_wait(client, "busy")
    assert port_is_free(port)


def test_reload_restarts_with_new_source_files(server: ServerProcess) -> None:
    client = server.client()
    service = deployed(client, deploy(client, "reloader", script=tagged_script("before")))
    assert service["state"] == "Healthy"
    r = client.post(
        f"{WS}/services/reloader/reload",
        json={"sourceSnapshot": snapshot(client, {"score.py": tagged_script("after")})},
    )
    after = deployed(client, r)
    assert after["_operation"]["kind"] == "Reload" and after["state"] == "Healthy"
    import httpx

    assert httpx.post(after["scoringUri"], content=b"{}", timeout=10).json() == {
        "revision": "after"
    }
    assert after["environment"]["key"] == service["environment"]["key"]
    kinds = [o["kind"] for o in client.get(f"{WS}/services/reloader/operations").json()["value"]]
    assert kinds == ["Reload", "Deploy"]
    empty = client.patch(f"{WS}/services/reloader", json={})
    assert (
        empty.status_code == 400 and empty.json()["message"] == "No parameters provided to update."
    )
    delete_and_wait(client, "reloader")
