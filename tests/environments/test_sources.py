import json

import pytest

from modelport.environments import (
    EnvironmentSpec,
    from_pip_requirements,
    load_from_directory,
    save_to_directory,
)
from modelport.errors import Conflict, UserError


def test_pip_requirements_file_with_includes_comments_and_options(tmp_path):
    (tmp_path / "base.txt").write_text("six==1.16.0  # pinned\n")
    req = tmp_path / "requirements.txt"
    req.write_text(
        "# comment\n"
        "--extra-index-url https://example.invalid/simple\n"
        "-r base.txt\n"
        "numpy>=1.26 \\\n"
        "  ; python_version >= '3.9'\n"
        "\n"
        "azureml-defaults\n"
    )
    spec = from_pip_requirements("reqs", req)
    assert spec.pip_packages == (
        "--extra-index-url https://example.invalid/simple",
        "six==1.16.0",
        "numpy>=1.26   ; python_version >= '3.9'",
        "azureml-defaults",
    )


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ("-e ./pkg\n", "editable"),
        ("-c constraints.txt\n", "constraint"),
        ("-r nope.txt\n", "Cannot read"),
    ],
)
def test_unsupported_requirement_lines_are_user_errors(tmp_path, content, match):
    req = tmp_path / "requirements.txt"
    req.write_text(content)
    with pytest.raises(UserError, match=match):
        from_pip_requirements("e", req)


def test_save_and_load_directory_round_trip(tmp_path):
    spec = EnvironmentSpec(
        name="my-env",
        version="3",
        pip_packages=("six",),
        conda_packages=("numpy=1.26",),
        python_version="3.11",
        environment_variables={"A": "1"},
    )
    save_to_directory(spec, tmp_path / "d")
    doc = json.loads((tmp_path / "d" / "azureml_environment.json").read_text())
    assert doc["name"] == "my-env"
    assert (tmp_path / "d" / "conda_dependencies.yml").is_file()
    assert load_from_directory(tmp_path / "d") == spec


def test_save_refuses_to_overwrite_unless_told(tmp_path):
    spec = EnvironmentSpec(name="e")
    save_to_directory(spec, tmp_path)
    with pytest.raises(Conflict, match="overwrite"):
        save_to_directory(spec, tmp_path)
    save_to_directory(spec.with_name("e2"), tmp_path, overwrite=True)
    assert load_from_directory(tmp_path).name == "e2"


def test_conda_file_beside_the_json_replaces_its_dependencies(tmp_path):
    save_to_directory(EnvironmentSpec(name="e", pip_packages=("six",)), tmp_path)
    (tmp_path / "conda_dependencies.yml").write_text("dependencies:\n  - pip:\n    - joblib\n")
    assert load_from_directory(tmp_path).pip_packages == ("joblib",)


def test_load_from_directory_without_json_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match=r"No azureml_environment\.json"):
        load_from_directory(tmp_path)
