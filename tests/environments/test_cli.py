"""``modelport env …`` through the real CLI against a real workspace server."""

import json

import pytest

from tests.cli.conftest import Project, assert_one_line_error


def test_scaffold_register_list_show(project: Project):
    out = json.loads(project.ok("env", "scaffold", "-n", "cli-env", "-d", "envdir", "-o", "json"))
    doc = json.loads((project.folder / "envdir" / "azureml_environment.json").read_text())
    assert out["file"].endswith("azureml_environment.json")
    assert doc["name"] == "cli-env"
    assert {"pip": ["azureml-defaults", "inference-schema[numpy-support]"]} in doc["python"][
        "condaDependencies"
    ]["dependencies"]
    assert_one_line_error(project.run("env", "scaffold", "-n", "cli-env", "-d", "envdir"))

    first = json.loads(project.ok("env", "register", "-d", "envdir", "-o", "json"))
    assert (first["name"], first["version"]) == ("cli-env", "1")

    listed = json.loads(project.ok("env", "list", "-o", "json"))
    names = [e["name"] for e in listed]
    assert "cli-env" in names and "AzureML-Minimal" in names
    assert names.index("AzureML-Minimal") < names.index("cli-env")
    mine = project.ok("env", "list", "--no-curated", "-o", "tsv", "--query", "[].name")
    assert mine.split() == ["cli-env"]

    shown = json.loads(project.ok("env", "show", "-n", "cli-env", "-o", "json"))
    assert shown["environment"]["name"] == "cli-env" and shown["lock"] is None


@pytest.mark.parametrize(
    "args",
    [
        ("env", "scaffold", "-n", "AzureML-mine", "-d", "x"),
        ("env", "show", "-n", "no-such-env"),
        ("env", "register", "-d", "no-such-dir"),
        ("env", "build", "-n", "no-such-env"),
    ],
)
def test_errors_are_one_line(project: Project, args):
    assert_one_line_error(project.run(*args))


@pytest.mark.envbuild
def test_build_a_registered_environment_records_its_lock(project: Project, tmp_path):
    folder = project.folder / "tiny"
    project.ok("env", "scaffold", "-n", "cli-tiny", "-d", "tiny")
    doc = json.loads((folder / "azureml_environment.json").read_text())
    doc["python"]["condaDependencies"]["dependencies"] = [
        {"pip": ["six==1.16.0", "azureml-defaults"]}
    ]
    (folder / "azureml_environment.json").write_text(json.dumps(doc))
    project.ok("env", "register", "-d", "tiny")

    cache = str(tmp_path / "cache")
    result = project.run("env", "build", "-n", "cli-tiny", "--cache-dir", cache, "-o", "json")
    assert result.returncode == 0, result.stderr
    built = json.loads(result.stdout)
    assert built["reused"] is False and built["version"] == "1"
    assert "azureml-defaults: satisfied by modelport's azureml compatibility layer" in result.stderr
    assert "uv:  + six==1.16.0" in result.stderr
    shown = json.loads(project.ok("env", "show", "-n", "cli-tiny", "-o", "json"))
    assert "six==1.16.0" in shown["lock"]

    # the same environment from its folder: same key, nothing rebuilt
    again = json.loads(project.ok("env", "build", "-d", "tiny", "--cache-dir", cache, "-o", "json"))
    assert again["reused"] is True and again["key"] == built["key"]
