"""Model registry behaviour over HTTP, on SQLite and on PostgreSQL."""

from __future__ import annotations

import base64
import json
import uuid

from tests.conftest import ServerProcess
from tests.server.helpers import WS, all_pages, register, upload


def _name() -> str:
    return f"m-{uuid.uuid4().hex[:10]}"


def test_register_same_name_twice_gives_version_2(registry: ServerProcess) -> None:
    c = registry.client()
    name = _name()
    first = register(c, name, tags={"a": "1"}, framework="ScikitLearn", frameworkVersion="1.4")
    second = register(c, name)
    assert (first["version"], second["version"]) == (1, 2)
    assert first["id"] == f"{name}:1" and first["url"] == f"aml://asset/{name}:1"
    assert first["framework"] == "ScikitLearn" and first["frameworkVersion"] == "1.4"
    assert first["createdTime"].endswith("+00:00") and first["modelRoot"] == "model.bin"


def test_get_by_version_and_latest(registry: ServerProcess) -> None:
    c = registry.client()
    name = _name()
    register(c, name)
    register(c, name, description="second")
    assert c.get(f"{WS}/models/{name}/versions/1").json()["version"] == 1
    latest = c.get(f"{WS}/models/{name}/versions/latest").json()
    assert (latest["version"], latest["description"]) == (2, "second")


def test_unknown_model_and_version_answer_404(registry: ServerProcess) -> None:
    c = registry.client()
    r = c.get(f"{WS}/models/{_name()}/versions/1")
    assert r.status_code == 404 and "not found" in r.json()["message"]
    for version in ("0", "-1", "x", "99999999999999999999"):
        assert c.get(f"{WS}/models/{_name()}/versions/{version}").status_code == 404


def test_bad_model_name_is_400_quoting_the_rule(registry: ServerProcess) -> None:
    c = registry.client()
    entry = upload(c, b"x")
    for bad in ("-starts-with-dash", "has space", "a" * 256, ""):
        r = c.post(f"{WS}/models", json={"name": bad, "files": [entry]})
        assert r.status_code == 400, bad
        assert "letters, digits" in r.json()["message"]


def test_framework_version_without_framework_is_refused(registry: ServerProcess) -> None:
    c = registry.client()
    entry = upload(c, b"x")
    r = c.post(f"{WS}/models", json={"name": _name(), "files": [entry], "frameworkVersion": "1"})
    assert r.status_code == 400
    assert r.json()["message"] == (
        "Model framework version cannot be provided without a valid framework"
    )


def test_missing_blob_is_400_naming_the_path(registry: ServerProcess) -> None:
    c = registry.client()
    entry = {"path": "model.pkl", "sha256": "0" * 64, "size": 3}
    r = c.post(f"{WS}/models", json={"name": _name(), "files": [entry]})
    assert r.status_code == 400 and "model.pkl" in r.json()["message"]


def test_path_traversal_and_unsafe_paths_are_refused(registry: ServerProcess) -> None:
    c = registry.client()
    entry = upload(c, b"payload")
    bad_paths = [
        "../etc/passwd",
        "a/../../b",
        "/abs/path",
        "nul\x00byte",
        "back\\slash",
        "C:/windows",
        "c:file",
        "a//b",
        "./a",
    ]
    for path in bad_paths:
        r = c.post(f"{WS}/models", json={"name": _name(), "files": [{**entry, "path": path}]})
        assert r.status_code == 400, (path, r.text)
        assert "message" in r.json()


def test_folder_model_keeps_layout_and_needs_one_root(registry: ServerProcess) -> None:
    c = registry.client()
    files = [upload(c, b"a", "model/a.bin"), upload(c, b"b", "model/sub/b.bin")]
    r = c.post(f"{WS}/models", json={"name": _name(), "files": files})
    assert r.status_code == 201 and r.json()["modelRoot"] == "model"
    assert sorted(f["path"] for f in r.json()["files"]) == ["model/a.bin", "model/sub/b.bin"]
    two_roots = [upload(c, b"a", "a.bin"), upload(c, b"b", "b.bin")]
    r = c.post(f"{WS}/models", json={"name": _name(), "files": two_roots})
    assert r.status_code == 400 and "one root" in r.json()["message"]


def test_list_filters_by_tags_properties_framework_and_name(registry: ServerProcess) -> None:
    c = registry.client()
    team = uuid.uuid4().hex[:8]
    a = register(c, _name(), tags={"team": team, "stage": "prod"}, framework="Onnx")
    b = register(c, _name(), tags={"team": team}, properties={"acc": "0.9"})
    register(c, _name(), tags={"team": "other"})

    def names(**params: str) -> set[str]:
        return {m["name"] for m in all_pages(c, f"{WS}/models", **params)}

    assert names(tags=f"team={team}") == {a["name"], b["name"]}
    assert names(tags=f"team={team},stage") == {a["name"]}
    assert names(tags=f"team={team},stage=dev") == set()
    assert names(properties="acc=0.9", tags=f"team={team}") == {b["name"]}
    assert names(framework="Onnx", tags=f"team={team}") == {a["name"]}
    assert names(name=a["name"]) == {a["name"]}


def test_latest_returns_only_highest_version_of_each_name(registry: ServerProcess) -> None:
    c = registry.client()
    tag = uuid.uuid4().hex[:8]
    n1, n2 = sorted([_name(), _name()])
    for n in (n1, n1, n1, n2, n2):
        register(c, n, tags={"batch": tag})
    models = all_pages(c, f"{WS}/models", tags=f"batch={tag}", latest="true")
    assert [(m["name"], m["version"]) for m in models] == [(n1, 3), (n2, 2)]
    one_by_one = all_pages(c, f"{WS}/models", tags=f"batch={tag}", latest="true", limit="1")
    assert one_by_one == models
    # latest among the matching versions: tag only version 1 of n2
    c.patch(f"{WS}/models/{n2}/versions/1", json={"addTags": {"old": tag}})
    old = all_pages(c, f"{WS}/models", tags=f"old={tag}", latest="true")
    assert [(m["name"], m["version"]) for m in old] == [(n2, 1)]


def test_paging_walks_every_model_once_in_order(registry: ServerProcess) -> None:
    c = registry.client()
    tag = uuid.uuid4().hex[:8]
    names = sorted(_name() for _ in range(3))
    for n in names:
        for _ in range(3):
            register(c, n, tags={"paging": tag})
    seen = all_pages(c, f"{WS}/models", tags=f"paging={tag}", limit="2")
    assert [(m["name"], m["version"]) for m in seen] == [(n, v) for n in names for v in (3, 2, 1)]


def test_bad_cursor_and_limit_are_400(registry: ServerProcess) -> None:
    c = registry.client()
    assert c.get(f"{WS}/models", params={"after": "garbage!"}).status_code == 400
    for forged in (["a", 10**30], ["a\x00", 1], ["a", "b"], "x"):
        cursor = base64.urlsafe_b64encode(json.dumps(forged).encode()).decode()
        assert c.get(f"{WS}/models", params={"after": cursor}).status_code == 400
    assert c.get(f"{WS}/models", params={"limit": "0"}).status_code == 400
    r = c.get(f"{WS}/models", params={"limit": "1001"})
    assert r.status_code == 400 and r.json()["message"].startswith("limit:")


def test_tags_change_and_properties_are_add_only(registry: ServerProcess) -> None:
    c = registry.client()
    m = register(c, _name(), tags={"a": "1", "b": "2"}, properties={"p": "1"})
    url = f"{WS}/models/{m['name']}/versions/1"
    r = c.patch(url, json={"addTags": {"c": "3"}, "removeTags": ["a"], "description": "d"})
    assert r.status_code == 200 and r.json()["tags"] == {"b": "2", "c": "3"}
    assert r.json()["description"] == "d"
    r = c.patch(url, json={"tags": {"only": "x"}})
    assert r.json()["tags"] == {"only": "x"} and r.json()["description"] == "d"
    r = c.patch(url, json={"addProperties": {"q": "2"}})
    assert r.json()["properties"] == {"p": "1", "q": "2"}
    r = c.patch(url, json={"addProperties": {"p": "changed"}})
    assert r.status_code == 400 and "'p'" in r.json()["message"]
    assert c.get(url).json()["properties"] == {"p": "1", "q": "2"}
    by_tag = all_pages(c, f"{WS}/models", tags="only=x", name=m["name"])
    assert [x["version"] for x in by_tag] == [1]


def test_unknown_field_is_400_naming_it(registry: ServerProcess) -> None:
    c = registry.client()
    entry = upload(c, b"x")
    r = c.post(f"{WS}/models", json={"name": _name(), "files": [entry], "frameworkversion": "1"})
    assert r.status_code == 400 and r.json()["message"].startswith("frameworkversion:")


def test_delete_model_version(registry: ServerProcess) -> None:
    c = registry.client()
    name = _name()
    register(c, name)
    register(c, name)
    assert c.delete(f"{WS}/models/{name}/versions/2").status_code == 204
    assert c.get(f"{WS}/models/{name}/versions/2").status_code == 404
    assert c.get(f"{WS}/models/{name}/versions/latest").json()["version"] == 1
    # versions are never reused, so an old id never names a different model
    assert register(c, name)["version"] == 3


def test_models_are_per_workspace(registry: ServerProcess) -> None:
    c = registry.client()
    ws = f"ws-{uuid.uuid4().hex[:8]}"
    assert c.post("/workspaces", json={"name": ws}).status_code == 201
    name = _name()
    register(c, name)
    assert register(c, name, ws=f"/workspaces/{ws}")["version"] == 1
    assert c.delete(f"/workspaces/{ws}").status_code == 204
    assert c.get(f"/workspaces/{ws}/models").status_code == 404
