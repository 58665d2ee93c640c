"""Symlinks in a registered model folder or a source directory cannot carry files from outside it
to the server, and a download never writes outside its target folder."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from modelport.errors import UserError
from modelport.sdk.model import Model
from modelport.sdk.workspace import Workspace
from tests.conftest import ServerProcess


@pytest.fixture
def ws(deploy_server: ServerProcess) -> Iterator[Workspace]:
    # the security suite's shared server (conftest.py); each test has a workspace of its own
    with pytest.MonkeyPatch.context() as mp:
        for key, value in deploy_server.env.items():
            mp.setenv(key, value)
        yield Workspace.create(f"sym-{uuid.uuid4().hex[:10]}")


def _secret(tmp_path: Path) -> Path:
    secret = tmp_path / "outside" / "id_rsa"
    secret.parent.mkdir()
    secret.write_text("PRIVATE KEY MATERIAL")
    return secret


def test_symlink_to_a_file_outside_the_model_folder_is_refused(
    ws: Workspace, tmp_path: Path
) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "weights.bin").write_bytes(b"w")
    (folder / "leak.txt").symlink_to(_secret(tmp_path))
    with pytest.raises(UserError, match="outside"):
        Model.register(ws, model_path=str(folder), model_name="leaky")
    assert Model.list(ws) == []


def test_symlinked_folder_outside_the_model_folder_is_refused(
    ws: Workspace, tmp_path: Path
) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "weights.bin").write_bytes(b"w")
    _secret(tmp_path)
    (folder / "ssh").symlink_to(tmp_path / "outside", target_is_directory=True)
    try:
        model = Model.register(ws, model_path=str(folder), model_name="leaky-dir")
    except UserError as exc:
        assert "outside" in str(exc)
        return
    paths = [f["path"] for f in model._details["files"]] if hasattr(model, "_details") else []
    assert not any("id_rsa" in p for p in paths), paths


def test_symlink_inside_the_model_folder_is_fine(ws: Workspace, tmp_path: Path) -> None:
    folder = tmp_path / "model"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "weights.bin").write_bytes(b"w")
    (folder / "alias.bin").symlink_to(folder / "sub" / "weights.bin")
    model = Model.register(ws, model_path=str(folder), model_name="aliased")
    assert model.version == 1


def test_symlink_out_of_a_source_directory_is_refused(tmp_path: Path) -> None:
    from modelport.sdk._snapshot import source_files

    src = tmp_path / "src"
    src.mkdir()
    (src / "score.py").write_text("def init(): pass\ndef run(raw): return raw\n")
    (src / "creds.txt").symlink_to(_secret(tmp_path))
    with pytest.raises(UserError, match="outside the source directory"):
        source_files(src)
    (src / "creds.txt").unlink()
    (src / "keys").symlink_to(tmp_path / "outside", target_is_directory=True)
    with pytest.raises(UserError, match="outside the source directory"):
        source_files(src)


@pytest.mark.parametrize(
    "bad", ["../evil.bin", "root/../../evil.bin", "root/sub/../../../evil.bin", "root/../.."]
)
def test_download_refuses_paths_that_leave_the_target_folder(
    ws: Workspace, tmp_path: Path, bad: str
) -> None:
    # The server never stores such paths; a hostile or broken server must still not make the
    # SDK write outside the target folder. (An absolute path is joined as a relative one.)
    from modelport.sdk._model_files import download

    target = tmp_path / "target"
    target.mkdir()
    entries = [{"path": bad, "sha256": "0" * 64, "size": 1}]
    with pytest.raises(UserError, match="outside"):
        download(ws._client, ws.name, entries, "root", target, exist_ok=False)
    assert not (tmp_path / "evil.bin").exists()
