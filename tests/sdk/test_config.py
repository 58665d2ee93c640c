"""Finding the workspace config file like Azure ML v1 (no server needed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from modelport.errors import UserError
from modelport.sdk._config import ConfigNotFound, find_config, write_config


def _write(path: Path, data: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    return path


def test_finds_modelport_config_in_a_parent_folder(tmp_path: Path) -> None:
    _write(tmp_path / ".modelport" / "config.json", {"workspace_name": "vision"})
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    config = find_config(deep)
    assert config.workspace_name == "vision"
    assert config.path == (tmp_path / ".modelport" / "config.json").resolve()


def test_v1_azureml_config_is_accepted_and_cloud_keys_ignored(tmp_path: Path) -> None:
    v1 = {"subscription_id": "0000", "resource_group": "rg", "workspace_name": "legacy"}
    _write(tmp_path / ".azureml" / "config.json", v1)
    config = find_config(tmp_path)
    assert (config.workspace_name, config.server_url) == ("legacy", None)


def test_aml_config_folder_and_legacy_project_json(tmp_path: Path) -> None:
    _write(tmp_path / "one" / "aml_config" / "config.json", {"workspace_name": "one"})
    _write(tmp_path / "two" / "project.json", {"workspace_name": "two"})
    assert find_config(tmp_path / "one").workspace_name == "one"
    assert find_config(tmp_path / "two").workspace_name == "two"


def test_dedicated_folder_up_the_tree_beats_a_bare_config_json_nearby(tmp_path: Path) -> None:
    _write(tmp_path / ".modelport" / "config.json", {"workspace_name": "project"})
    _write(tmp_path / "src" / "config.json", {"workspace_name": "nearby"})
    assert find_config(tmp_path / "src").workspace_name == "project"


def test_bare_config_json_of_something_else_is_skipped(tmp_path: Path) -> None:
    _write(tmp_path / ".azureml" / "config.json", {"workspace_name": "real"})
    _write(tmp_path / "model" / "config.json", {"hidden_size": 768})
    assert find_config(tmp_path / "model").workspace_name == "real"


def test_a_file_path_is_used_as_is(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "elsewhere.json", {"workspace_name": "direct", "server_url": "http://h:1"}
    )
    config = find_config(path)
    assert (config.workspace_name, config.server_url) == ("direct", "http://h:1")


def test_not_found_gives_the_originals_message(tmp_path: Path) -> None:
    with pytest.raises(ConfigNotFound) as info:
        find_config(tmp_path)
    assert "The workspace configuration file config.json, could not be found in" in str(info.value)
    assert "modelport folder attach" in str(info.value)


def test_malformed_config_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / ".modelport" / "config.json"
    path.parent.mkdir()
    path.write_text("{not json")
    with pytest.raises(UserError, match="not valid JSON"):
        find_config(tmp_path)
    path.write_text(json.dumps({"subscription_id": "x"}))
    with pytest.raises(UserError, match='no "workspace_name"'):
        find_config(tmp_path)


def test_write_config_round_trips(tmp_path: Path) -> None:
    written = write_config("roundtrip", tmp_path)
    assert written == tmp_path / ".modelport" / "config.json"
    assert json.loads(written.read_text()) == {"workspace_name": "roundtrip"}
    assert find_config(tmp_path).workspace_name == "roundtrip"
