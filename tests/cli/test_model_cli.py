"""``modelport model …`` through the real CLI: formats, queries, metadata files, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from modelport import Experiment, Model, Workspace
from tests.cli.conftest import Project, assert_one_line_error


@pytest.fixture(scope="module")
def model_file(project: Project) -> Path:
    path = project.folder / "model.pkl"
    path.write_bytes(b"trained weights")
    return path


def _sdk_workspace(project: Project) -> Workspace:
    return Workspace.get(
        project.workspace, server_url=project.server.url, token=project.server.token
    )


def test_register_show_and_metadata_file_chaining(project: Project, model_file: Path) -> None:
    first = json.loads(
        project.ok(
            "model",
            "register",
            "-n",
            "chain",
            "-p",
            "model.pkl",
            "--tag",
            "team=vision",
            "-o",
            "json",
        )
    )
    assert (first["id"], first["version"], first["tags"]) == ("chain:1", 1, {"team": "vision"})
    out = project.ok(
        "model",
        "register",
        "-n",
        "chain",
        "-p",
        "model.pkl",
        "--property",
        "auc=0.9",
        "--description",
        "second",
        "--model-framework",
        "ScikitLearn",
        "--model-framework-version",
        "1.5",
        "--output-metadata-file",
        "meta/chain.json",
        "-o",
        "none",
    )
    assert out == ""
    meta = json.loads((project.folder / "meta" / "chain.json").read_text())
    assert meta["modelId"] == "chain:2" and meta["workspaceName"] == project.workspace

    # The metadata file names its workspace: it wins over another folder's config file.
    elsewhere = project.folder / "elsewhere"
    elsewhere.mkdir()
    project.ok("folder", "attach", "-w", "default", "--path", str(elsewhere))
    meta_path = str(project.folder / "meta" / "chain.json")
    assert (
        project.ok(
            "model", "show", "-f", meta_path, "-o", "tsv", "--query", "id", cwd=elsewhere
        ).strip()
        == "chain:2"
    )
    shown = json.loads(project.ok("model", "show", "-f", "meta/chain.json", "-o", "json"))
    assert (shown["id"], shown["description"], shown["framework"]) == (
        "chain:2",
        "second",
        "ScikitLearn",
    )
    assert {"cpu", "memoryInGB", "gpu"} <= set(shown)
    assert (
        project.ok("model", "show", "-n", "chain", "-v", "1", "-o", "tsv", "--query", "id").strip()
        == "chain:1"
    )
    assert (
        project.ok("model", "show", "-i", "chain:1", "-o", "json", "--query", "tags.team").strip()
        == '"vision"'
    )
    assert json.loads(project.ok("model", "show", "-n", "chain", "-o", "json"))["version"] == 2
    table = project.ok("model", "show", "-i", "chain:2")
    assert "chain:2" in table and "ScikitLearn" in table


def test_register_a_folder_with_child_paths_and_download_it(project: Project) -> None:
    bundle = project.folder / "bundle"
    (bundle / "sub").mkdir(parents=True)
    (bundle / "weights.bin").write_bytes(b"w")
    (bundle / "sub" / "vocab.txt").write_text("v")
    (bundle / "skip.md").write_text("not shipped")
    project.ok(
        "model", "register", "-n", "folder", "-p", "bundle", "--child-path", "weights.bin",
        "--child-path", "sub", "-o", "none",
    )  # fmt: skip
    out = json.loads(project.ok("model", "download", "-i", "folder:1", "-t", "fdl", "-o", "json"))
    root = project.folder / out["path"]
    assert root == project.folder / "fdl" / "bundle"
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()) == [
        "sub/vocab.txt",
        "weights.bin",
    ]


def test_list_formats_and_query(project: Project, model_file: Path) -> None:
    for _ in range(2):
        project.ok(
            "model", "register", "-n", "fmt", "-p", "model.pkl", "--tag", "kind=fmt", "-o", "none"
        )
    listed = json.loads(project.ok("model", "list", "-n", "fmt", "-o", "json"))
    assert [m["id"] for m in listed] == ["fmt:2", "fmt:1"]
    assert json.loads(
        project.ok(
            "model", "list", "--tag", "kind=fmt", "--latest", "-o", "json", "--query", "[].id"
        )
    ) == ["fmt:2"]
    assert (
        yaml.safe_load(project.ok("model", "list", "-n", "fmt", "-o", "yaml"))[0]["id"] == "fmt:2"
    )
    tsv = project.ok("model", "list", "-n", "fmt", "-o", "tsv").splitlines()
    assert len(tsv) == 2 and "fmt:2" in tsv[0].split("\t")
    assert project.ok("model", "list", "-n", "fmt", "-o", "tsv", "--query", "[].id").split() == [
        "fmt:2",
        "fmt:1",
    ]
    # a list query on one object is one tab-separated line, as az prints it
    one = project.ok("model", "show", "-i", "fmt:2", "-o", "tsv", "--query", "[name, version]")
    assert one == "fmt\t2\n"
    table = project.ok("model", "list", "-n", "fmt").splitlines()
    header = next(line for line in table if line.strip())
    assert header.split()[:3] == ["Name", "Id", "Version"]
    assert sum("fmt:" in line for line in table) == 2
    assert json.loads(project.ok("model", "list", "-n", "nothing-here", "-o", "json")) == []


def test_list_pages_through_more_than_one_page(project: Project, model_file: Path) -> None:
    ws = _sdk_workspace(project)
    for _ in range(105):  # the CLI asks for pages of 100
        Model.register(ws, model_file, "many")
    listed = json.loads(
        project.ok("model", "list", "-n", "many", "-o", "json", "--query", "[].version")
    )
    assert listed == list(range(105, 0, -1))
    table = project.ok("model", "list", "-n", "many").splitlines()
    assert sum(" many:" in f" {line}" for line in table) == 105
    assert sum(line.split()[:1] == ["Name"] for line in table) == 1  # one header for all pages


def test_download_refuses_overwrite_unless_asked(project: Project, model_file: Path) -> None:
    project.ok("model", "register", "-n", "dl", "-p", "model.pkl", "-o", "none")
    out = json.loads(project.ok("model", "download", "-n", "dl", "-t", "downloads", "-o", "json"))
    path = Path(out["path"])
    assert path == Path("downloads") / "model.pkl"
    assert (project.folder / path).read_bytes() == b"trained weights"
    line = assert_one_line_error(project.run("model", "download", "-i", "dl:1", "-t", "downloads"))
    assert "already exists; add --overwrite to replace it" in line  # the CLI's flag, not the
    assert "exist_ok" not in line  # SDK's argument
    project.ok("model", "download", "-i", "dl:1", "-t", "downloads", "--overwrite")


def test_update_and_delete(project: Project, model_file: Path) -> None:
    project.ok(
        "model",
        "register",
        "-n",
        "upd",
        "-p",
        "model.pkl",
        "--tag",
        "a=1",
        "--property",
        "p=x",
        "-o",
        "none",
    )
    updated = json.loads(
        project.ok(
            "model",
            "update",
            "-i",
            "upd:1",
            "--add-tag",
            "b=2",
            "--remove-tag",
            "a",
            "--add-property",
            "q=y",
            "--description",
            "changed",
            "-o",
            "json",
        )
    )
    assert (updated["tags"], updated["properties"], updated["description"]) == (
        {"b": "2"},
        {"p": "x", "q": "y"},
        "changed",
    )
    assert "p" in assert_one_line_error(
        project.run("model", "update", "-i", "upd:1", "--add-property", "p=other")
    )
    assert_one_line_error(project.run("model", "update", "-i", "upd:1"))
    assert json.loads(project.ok("model", "delete", "-i", "upd:1", "-o", "json")) == {
        "id": "upd:1",
        "deleted": True,
    }
    assert_one_line_error(project.run("model", "show", "-i", "upd:1"))


def test_register_from_a_run(project: Project, model_file: Path) -> None:
    run = Experiment(_sdk_workspace(project), "cli-train").start_logging()
    run.upload_file("outputs/model.pkl", model_file)
    out = json.loads(
        project.ok(
            "model",
            "register",
            "-n",
            "fromrun",
            "--asset-path",
            "outputs/model.pkl",
            "--experiment-name",
            "cli-train",
            "--run-id",
            run.id,
            "-o",
            "json",
        )
    )
    assert (out["runId"], out["experimentName"]) == (run.id, "cli-train")
    assert [
        m["id"] for m in json.loads(project.ok("model", "list", "--run-id", run.id, "-o", "json"))
    ] == ["fromrun:1"]
    wrong = project.run(
        "model",
        "register",
        "-n",
        "x",
        "--asset-path",
        "outputs/model.pkl",
        "--experiment-name",
        "other",
        "--run-id",
        run.id,
    )
    assert "cli-train" in assert_one_line_error(wrong)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["model", "show", "-i", "absent:1"], "absent"),
        (["model", "show", "-n", "absent"], "absent"),
        (["model", "register", "-n", "bad name!", "-p", "model.pkl"], "Invalid model name"),
        (["model", "register", "-n", "ok", "-p", "missing.pkl"], "does not exist"),
        (
            ["model", "register", "-n", "ok", "-p", "model.pkl", "--model-framework-version", "1"],
            "without a valid framework",
        ),
        (["model", "register", "-n", "ok", "-p", "model.pkl", "--tag", "novalue"], "key=value"),
        (["model", "list", "-w", "no-such-workspace"], "no-such-workspace"),
        (["model", "show", "-f", "missing-meta.json"], "missing-meta.json"),
        (["model", "show", "-i", "noversion"], "NAME:VERSION"),
        (["model", "show"], "Name one model"),
        (["model", "list", "--query", "[?"], "--query"),
        (["model", "download", "-i", "absent:3"], "absent"),
    ],
)
def test_user_errors_are_one_line_exit_1(
    project: Project, model_file: Path, args: list[str], needle: str
) -> None:
    assert needle in assert_one_line_error(project.run(*args))


@pytest.mark.parametrize(
    "args",
    [
        ["model", "register", "-p", "model.pkl"],  # missing -n
        ["model", "list", "-o", "xml"],
        ["model", "show", "-v", "notint", "-n", "x"],
        ["modle", "list"],
        ["model", "list", "--no-such-flag"],
    ],
)
def test_usage_errors_are_one_line_exit_2(project: Project, args: list[str]) -> None:
    line = assert_one_line_error(project.run(*args), code=2)
    assert "Value error" not in line  # pydantic's wording (Typer's coercion) stays out
