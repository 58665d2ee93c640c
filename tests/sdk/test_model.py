"""Model registry through the SDK against a real server: register, get, list, download, update."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path

import pytest

from modelport import Model, Workspace
from modelport.errors import NotFound, UserError
from modelport.sdk._model_path import get_model_path


def _name(prefix: str = "m") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def model_file(tmp_path: Path) -> Path:
    path = tmp_path / "model.pkl"
    path.write_bytes(b"weights " + uuid.uuid4().bytes)
    return path


@pytest.fixture
def model_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "bundle"
    (folder / "sub").mkdir(parents=True)
    (folder / "weights.bin").write_bytes(b"\x00\x01" * 1000)
    (folder / "sub" / "vocab.txt").write_text("a\nb\n")
    (folder / "notes.md").write_text("not shipped")
    return folder


def test_register_same_name_twice_gives_version_2(ws: Workspace, model_file: Path) -> None:
    name = _name()
    first = Model.register(ws, model_file, name, tags={"stage": "dev"}, description="first")
    second = Model.register(ws, model_file, name)
    assert (first.version, second.version) == (1, 2)
    assert (first.id, second.id) == (f"{name}:1", f"{name}:2")
    assert first.tags == {"stage": "dev"} and first.description == "first"
    assert first.url == f"aml://asset/{name}:1"
    assert first.created_time and first.created_by is not None


def test_get_by_id_by_name_and_version_and_latest(ws: Workspace, model_file: Path) -> None:
    name = _name()
    for _ in range(3):
        Model.register(ws, model_file, name)
    assert Model(ws, id=f"{name}:2").version == 2
    assert Model(ws, name=name, version=1).version == 1
    assert Model(ws, name).version == 3
    assert Model(ws, name=name, id=f"{name}:1").version == 1  # id wins


def test_get_errors(ws: Workspace) -> None:
    with pytest.raises(UserError, match="one of id or name"):
        Model(ws)
    with pytest.raises(NotFound):
        Model(ws, name="no-such-model")
    with pytest.raises(NotFound):
        Model(ws, id="no-such-model:7")
    with pytest.raises(UserError, match="version should be an int"):
        Model(ws, name="x", version="two")


def test_newest_match_by_tags(ws: Workspace, model_file: Path) -> None:
    name = _name()
    Model.register(ws, model_file, name, tags={"stage": "prod"})
    Model.register(ws, model_file, name, tags={"stage": "dev"})
    assert Model(ws, name=name, tags=[["stage", "prod"]]).version == 1
    with pytest.raises(NotFound, match="not found"):
        Model(ws, name=name, tags=[["stage", "none"]])


def test_register_folder_with_child_paths_and_download(
    ws: Workspace, model_folder: Path, tmp_path: Path
) -> None:
    name = _name()
    model = Model.register(ws, model_folder, name, child_paths=["weights.bin", "sub"])
    paths = sorted(f["path"] for f in model.files)
    assert paths == ["bundle/sub/vocab.txt", "bundle/weights.bin"]
    sha = hashlib.sha256((model_folder / "weights.bin").read_bytes()).hexdigest()
    assert sha in {f["sha256"] for f in model.files}

    target = tmp_path / "out"
    root = Path(model.download(target))
    assert root == target / "bundle"
    assert (root / "weights.bin").read_bytes() == (model_folder / "weights.bin").read_bytes()
    assert (root / "sub" / "vocab.txt").read_text() == "a\nb\n"
    assert not (root / "notes.md").exists()


def test_download_refuses_to_overwrite_unless_exist_ok(
    ws: Workspace, model_file: Path, tmp_path: Path
) -> None:
    model = Model.register(ws, model_file, _name())
    target = tmp_path / "dl"
    path = Path(model.download(target))
    assert path == target / "model.pkl" and path.read_bytes() == model_file.read_bytes()
    with pytest.raises(
        UserError, match=r"File already exists\. To overwrite, set exist_ok to True"
    ):
        model.download(target)
    path.write_bytes(b"changed")
    assert Path(model.download(target, exist_ok=True)).read_bytes() == model_file.read_bytes()
    assert not [p for p in target.iterdir() if p.name.endswith(".part")]


def test_registration_errors_come_before_any_upload(
    ws: Workspace, tmp_path: Path, model_file: Path
) -> None:
    with pytest.raises(
        UserError, match="Model framework version cannot be provided without a valid framework"
    ):
        Model.register(ws, model_file, _name(), model_framework_version="1.0")
    with pytest.raises(UserError, match="Invalid model name"):
        Model.register(ws, model_file, "-starts with a dash")
    with pytest.raises(UserError, match="does not exist"):
        Model.register(ws, tmp_path / "missing.pkl", _name())
    with pytest.raises(UserError, match="child path"):
        Model.register(ws, model_file.parent, _name(), child_paths=["nope.bin"])


def test_register_with_framework(ws: Workspace, model_file: Path) -> None:
    model = Model.register(
        ws,
        model_file,
        _name(),
        model_framework=Model.Framework.SCIKITLEARN,
        model_framework_version="1.5",
    )
    assert (model.model_framework, model.model_framework_version) == ("ScikitLearn", "1.5")


def test_register_with_resource_configuration(ws: Workspace, model_file: Path) -> None:
    class ResourceConfiguration:  # the shape of v1's azureml.core.resource_configuration object
        cpu, memory_in_gb, gpu = 2, 1.5, 0

    model = Model.register(ws, model_file, _name(), resource_configuration=ResourceConfiguration())
    assert model.resource_configuration == {"cpu": 2, "memoryInGB": 1.5, "gpu": 0}
    again = Model.register(
        ws, model_file, _name(), resource_configuration={"cpu": 1, "memoryInGB": 0.5, "gpu": 0}
    )
    assert again.serialize()["resourceConfiguration"] == {"cpu": 1, "memoryInGB": 0.5, "gpu": 0}


def test_list_filters(ws: Workspace, model_file: Path) -> None:
    a, b = _name("lista"), _name("listb")
    team, stage, auc = (f"{key}-{uuid.uuid4().hex[:6]}" for key in ("team", "stage", "auc"))
    Model.register(ws, model_file, a, tags={team: "vision", stage: "dev"}, properties={auc: "0.9"})
    Model.register(ws, model_file, a, tags={team: "vision"})
    Model.register(ws, model_file, b, tags={team: "nlp"}, model_framework="Onnx")

    ids = lambda models: [m.id for m in models]  # noqa: E731
    assert ids(Model.list(ws, name=a)) == [f"{a}:2", f"{a}:1"]
    assert ids(Model.list(ws, name=a, latest=True)) == [f"{a}:2"]
    assert ids(Model.list(ws, tags=[stage])) == [f"{a}:1"]
    assert ids(Model.list(ws, tags=[[team, "vision"]])) == [f"{a}:2", f"{a}:1"]
    assert ids(Model.list(ws, tags=[[team, "vision"], stage])) == [f"{a}:1"]
    assert ids(Model.list(ws, tags=[team], latest=True)) == [f"{a}:2", f"{b}:1"]
    assert ids(Model.list(ws, properties=[[auc, "0.9"]])) == [f"{a}:1"]
    assert ids(Model.list(ws, tags=[team], model_framework="Onnx")) == [f"{b}:1"]
    with pytest.raises(UserError, match="must be a list"):
        Model.list(ws, tags="team")  # type: ignore[arg-type]
    with pytest.raises(UserError, match="must be a list"):
        Model.list(ws, properties={"auc": "0.9"})  # type: ignore[arg-type]


def test_list_pages_across_more_than_one_page(ws: Workspace, model_file: Path) -> None:
    name = _name("paged")
    for _ in range(5):
        Model.register(ws, model_file, name)
    assert [m.version for m in Model._iter(ws, name=name, page_size=2)] == [5, 4, 3, 2, 1]
    assert [m.version for m in Model.list(ws, name=name, page_count=2)] == [5, 4, 3, 2, 1]


def test_tags_and_properties_rules(ws: Workspace, model_file: Path) -> None:
    model = Model.register(ws, model_file, _name(), tags={"a": "1"}, properties={"p": "x"})
    model.add_tags({"b": "2"})
    assert model.tags == {"a": "1", "b": "2"}
    model.remove_tags(["a"])
    assert model.tags == {"b": "2"}
    model.add_properties({"q": "y"})
    assert model.properties == {"p": "x", "q": "y"}
    with pytest.raises(UserError, match="p"):
        model.add_properties({"p": "changed"})
    model.update(tags={"only": "this"}, description="new")
    again = Model(ws, id=model.id)
    assert (again.tags, again.description, again.properties) == (
        {"only": "this"},
        "new",
        {"p": "x", "q": "y"},
    )
    model.update_tags_properties(
        add_tags={"c": "3"}, remove_tags=["only"], add_properties={"r": "z"}
    )
    assert (model.tags, model.properties["r"]) == ({"c": "3"}, "z")


def test_delete_removes_one_version(ws: Workspace, model_file: Path) -> None:
    name = _name()
    Model.register(ws, model_file, name)
    second = Model.register(ws, model_file, name)
    second.delete()
    with pytest.raises(NotFound):
        Model(ws, id=f"{name}:2")
    assert Model(ws, name).version == 1


def test_serialize_has_the_v1_camel_case_keys(ws: Workspace, model_file: Path) -> None:
    model = Model.register(ws, model_file, _name(), tags={"k": "v"})
    data = model.serialize()
    for key in (
        "createdTime",
        "createdBy",
        "description",
        "id",
        "mimeType",
        "name",
        "framework",
        "frameworkVersion",
        "tags",
        "properties",
        "unpack",
        "url",
        "version",
        "experimentName",
        "runId",
        "runDetails",
        "datasets",
        "resourceConfiguration",
        "sampleInputDatasetId",
        "sampleOutputDatasetId",
    ):
        assert key in data
    assert Model.deserialize(ws, data | {"files": model.files}).id == model.id


def test_workspace_models_mapping(ws: Workspace, model_file: Path) -> None:
    name = _name("mapped")
    Model.register(ws, model_file, name)
    Model.register(ws, model_file, name)
    assert ws.models[name].version == 2
    assert name in list(ws.models)
    with pytest.raises(KeyError):
        ws.models["absent-model"]


def test_get_model_path_cache_rules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AML_APP_ROOT", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    cache = tmp_path / "azureml-models" / "digits"
    (cache / "1").mkdir(parents=True)
    (cache / "1" / "model.pkl").write_text("v1")
    (cache / "10" / "model").mkdir(parents=True)
    assert (
        Path(get_model_path("digits")) == cache / "10" / "model"
    )  # highest integer, not "1" < "10"
    assert Path(Model.get_model_path("digits", version=1)) == cache / "1" / "model.pkl"
    (cache / "1" / "extra.txt").write_text("two entries")
    with pytest.raises(UserError, match="can contain only 1 file or folder"):
        get_model_path("digits", version=1)
    with pytest.raises(UserError, match="version should be an int"):
        get_model_path("digits", version="1")  # type: ignore[arg-type]
    (tmp_path / "local-model").write_text("here")
    assert Path(get_model_path("local-model")) == tmp_path / "local-model"
    with pytest.raises(NotFound, match="not found in cache"):
        get_model_path("absent")


def test_get_model_path_with_a_workspace_downloads_into_the_cache(
    ws: Workspace, model_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = _name()
    Model.register(ws, model_file, name)
    monkeypatch.setenv("AML_APP_ROOT", str(tmp_path / "app"))
    path = Path(Model.get_model_path(name, _workspace=ws))
    assert path == tmp_path / "app" / "azureml-models" / name / "1" / "model.pkl"
    assert path.read_bytes() == model_file.read_bytes()


def test_concurrent_registrations_get_distinct_versions(ws: Workspace, model_file: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    name = _name("race")

    def register(_: int) -> int:
        # Each thread has its own client, as separate processes would.
        own = Workspace.get(ws.name)
        return Model.register(own, model_file, name).version

    with ThreadPoolExecutor(6) as pool:
        versions = sorted(pool.map(register, range(6)))
    assert versions == [1, 2, 3, 4, 5, 6]
