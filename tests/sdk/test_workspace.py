"""Workspace: create, get, list, delete, config files, and the client layer's errors."""

from __future__ import annotations

import json
import socket
import uuid
from pathlib import Path

import pytest

from modelport import Workspace
from modelport.errors import AuthenticationError, Conflict, NotFound, ServerUnreachable, UserError
from modelport.sdk._http import Client
from modelport.sdk._target import resolve_target
from tests.conftest import ServerProcess


def _name() -> str:
    return f"w-{uuid.uuid4().hex[:10]}"


def test_create_get_list_delete(server: ServerProcess) -> None:
    name = _name()
    created = Workspace.create(name, description="for tests")
    assert (created.name, created.description) == (name, "for tests")
    assert Workspace.get(name) == created
    assert Workspace(name).created_time == created.created_time
    listed = Workspace.list()
    assert name in listed and "default" in listed
    assert listed[name][0].name == name
    created.delete()
    with pytest.raises(NotFound):
        Workspace.get(name)


def test_v1_positional_form_is_accepted(server: ServerProcess) -> None:
    ws = Workspace("subscription-id", "resource-group", "default")
    assert (ws.name, ws.subscription_id, ws.resource_group) == (
        "default",
        "subscription-id",
        "resource-group",
    )


def test_create_twice_conflicts_unless_exist_ok(server: ServerProcess) -> None:
    name = _name()
    Workspace.create(name)
    with pytest.raises(Conflict):
        Workspace.create(name)
    assert Workspace.create(name, exist_ok=True).name == name


def test_bad_workspace_name_is_a_user_error_quoting_the_rule(server: ServerProcess) -> None:
    with pytest.raises(UserError) as info:
        Workspace.create("-bad name!")
    assert info.value.status_code == 400


def test_write_config_then_from_config_below_it(server: ServerProcess, tmp_path: Path) -> None:
    ws = Workspace.create(_name())
    written = Path(ws.write_config(tmp_path))
    assert written == tmp_path / ".modelport" / "config.json"
    (tmp_path / "src" / "deeper").mkdir(parents=True)
    assert Workspace.from_config(tmp_path / "src" / "deeper").name == ws.name
    assert Workspace.from_config(str(written)).name == ws.name


def test_from_config_reads_a_v1_azureml_file(server: ServerProcess, tmp_path: Path) -> None:
    (tmp_path / ".azureml").mkdir()
    v1 = {"subscription_id": "abc", "resource_group": "rg", "workspace_name": "default"}
    (tmp_path / ".azureml" / "config.json").write_text(json.dumps(v1))
    assert Workspace.from_config(tmp_path).name == "default"


def test_from_config_for_an_unknown_workspace_is_not_found(
    server: ServerProcess, tmp_path: Path
) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"workspace_name": "never-created"}))
    with pytest.raises(NotFound):
        Workspace.from_config(tmp_path)


def test_wrong_token_is_an_authentication_error_with_a_hint(
    server: ServerProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODELPORT_TOKEN", "not-the-token")
    with pytest.raises(AuthenticationError) as info:
        Workspace.get("default")
    assert "MODELPORT_TOKEN" in str(info.value)
    assert server.url in str(info.value)


def test_unreachable_server_names_the_url(
    server: ServerProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"  # nothing listens there once the socket is closed
    monkeypatch.setenv("MODELPORT_URL", url)
    with pytest.raises(ServerUnreachable) as info:
        Workspace.get("default")
    assert url in str(info.value)


def test_paging_follows_next_until_the_end(server: ServerProcess) -> None:
    names = {Workspace.create(_name()).name for _ in range(5)}
    client = Client(resolve_target())
    pages = list(client.iter_pages("/workspaces", page_size=2))
    assert all(len(page) <= 2 for page in pages) and len(pages) >= 3
    seen = [item["name"] for page in pages for item in page]
    assert names <= set(seen) and len(seen) == len(set(seen))


def test_server_url_argument_is_used_when_the_environment_names_none(
    server: ServerProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MODELPORT_URL")
    ws = Workspace.get("default", server_url=server.url, token=server.token)
    assert ws.server_url == server.url


def test_workspace_views_of_experiments_and_services(server: ServerProcess) -> None:
    from modelport import Experiment

    ws = Workspace.create(_name())
    assert dict(ws.webservices) == {} and dict(ws.experiments) == {}
    Experiment(ws, "first").start_logging().complete()
    assert list(ws.experiments) == ["first"]
    details = ws.get_details()
    assert details["name"] == ws.name and details["serverUrl"] == server.url


def test_config_file_can_name_the_server_and_token(
    server: ServerProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MODELPORT_URL")
    monkeypatch.delenv("MODELPORT_TOKEN")
    monkeypatch.setenv("MODELPORT_HOME", str(tmp_path / "unused-home"))  # no local server here
    config = {"workspace_name": "default", "server_url": server.url, "server_token": server.token}
    (tmp_path / ".modelport").mkdir()
    (tmp_path / ".modelport" / "config.json").write_text(json.dumps(config))
    ws = Workspace.from_config(tmp_path)
    assert ws.server_url == server.url
    assert not (tmp_path / "unused-home").exists()
    # write_config keeps the server (never the token) so the folder keeps pointing at it.
    written = json.loads(Path(ws.write_config(tmp_path / "copy")).read_text())
    assert written == {"workspace_name": "default", "server_url": server.url}


def test_v1_cloud_arguments_are_accepted(server: ServerProcess) -> None:
    name = _name()
    with pytest.warns(UserWarning, match="storage_account"):
        ws = Workspace.create(
            name, subscription_id="s", resource_group="rg", location="westeurope",
            create_resource_group=True, storage_account="acct", exist_ok=True,
        )  # fmt: skip
    assert (
        Workspace.get(name, subscription_id="s", resource_group="rg", location="westeurope") == ws
    )
