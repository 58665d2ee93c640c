"""Inference configuration: v1 files and the SDK class, paths, validation, legacy keys."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from modelport import InferenceConfig
from modelport.specs import (
    ConfigError,
    ConfigWarning,
    load_inference_config,
    parse_inference_config,
)

SCORE = "def init():\n    pass\n\n\ndef run(data):\n    return data\n"
ENVIRONMENT = {
    "name": "sklearn-env",
    "python": {
        "userManagedDependencies": False,
        "condaDependencies": {"dependencies": ["python=3.11", {"pip": ["scikit-learn"]}]},
    },
}


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    (tmp_path / "source_dir").mkdir()
    (tmp_path / "source_dir" / "score.py").write_text(SCORE)
    (tmp_path / "source_dir" / "env.yml").write_text("dependencies:\n  - pip:\n    - numpy\n")
    return tmp_path


def _write(folder: Path, data: object, name: str = "inferenceconfig.json") -> Path:
    path = folder / name
    path.write_text(json.dumps(data))
    return path


def test_v1_tutorial_inference_config_is_read_as_is(project: Path) -> None:
    data = {
        "entryScript": "score.py",
        "sourceDirectory": "./source_dir",
        "environment": ENVIRONMENT,
    }
    spec = load_inference_config(_write(project, data))
    assert spec.entry_script == "score.py"
    assert spec.source_root == (project / "source_dir").resolve()
    assert spec.entry_script_path == (project / "source_dir" / "score.py").resolve()
    assert spec.entry_script_in_source == "score.py"
    assert spec.environment == ENVIRONMENT
    assert spec.warnings == ()
    assert spec.to_json() == data


def test_paths_start_at_the_config_file_folder_then_the_working_dir(
    project: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path_factory.mktemp("configs")
    path = _write(elsewhere, {"entryScript": "source_dir/score.py"})
    monkeypatch.chdir(project)
    spec = load_inference_config(path)
    assert spec.entry_script_path == (project / "source_dir" / "score.py").resolve()
    assert spec.source_root is None and spec.entry_script_in_source == "score.py"


def test_yaml_inference_config(project: Path) -> None:
    (project / "ic.yml").write_text("entryScript: score.py\nsourceDirectory: source_dir\n")
    spec = load_inference_config(project / "ic.yml")
    assert spec.entry_script_path.name == "score.py"


def _error(project: Path, data: object) -> str:
    with pytest.raises(ConfigError) as err:
        load_inference_config(_write(project, data))
    return str(err.value).split(": ", 1)[1]


def test_entry_script_rules(project: Path) -> None:
    assert _error(project, {"sourceDirectory": "source_dir"}) == (
        "entryScript is required (the scoring .py file)"
    )
    assert _error(project, {"entryScript": "score.txt", "sourceDirectory": "source_dir"}) == (
        "entryScript 'score.txt' must end in .py"
    )
    missing = _error(project, {"entryScript": "nope.py", "sourceDirectory": "source_dir"})
    assert missing.startswith("entryScript 'nope.py' does not exist in source directory ")
    (project / "source_dir" / "broken.py").write_text("def init(:\n")
    assert _error(
        project, {"entryScript": "broken.py", "sourceDirectory": "source_dir"}
    ).startswith("entryScript 'broken.py' does not parse: line 1: ")
    (project / "outside.py").write_text(SCORE)
    assert "is outside the source directory" in _error(
        project, {"entryScript": "../outside.py", "sourceDirectory": "source_dir"}
    )
    assert "sourceDirectory 'nodir' is not a folder" in _error(
        project, {"entryScript": "score.py", "sourceDirectory": "nodir"}
    )


def test_script_without_init_or_run_warns(project: Path) -> None:
    (project / "source_dir" / "half.py").write_text("def run(x):\n    return x\n")
    spec = load_inference_config(
        _write(project, {"entryScript": "half.py", "sourceDirectory": "source_dir"})
    )
    assert spec.warnings == (
        "entryScript 'half.py' defines no top-level init(); the service will fail to load it",
    )


def test_unknown_key_suggests_the_closest(project: Path) -> None:
    assert _error(project, {"entryscript": "score.py"}) == (
        "unknown key 'entryscript' in the inference configuration; did you mean 'entryScript'?"
    )
    assert "did you mean 'sourceDirectory'" in _error(
        project, {"entryScript": "score.py", "sourceDir": "source_dir"}
    )


def test_environment_with_legacy_keys_is_an_error(project: Path) -> None:
    data = {
        "entryScript": "score.py",
        "sourceDirectory": "source_dir",
        "environment": ENVIRONMENT,
        "condaFile": "env.yml",
        "runtime": "python",
    }
    assert _error(project, data) == (
        "environment cannot be combined with runtime, condaFile: put those settings in the "
        "environment instead"
    )
    assert "environment must be an object" in _error(
        project, {"entryScript": "score.py", "sourceDirectory": "source_dir", "environment": "x"}
    )


def test_legacy_keys_without_environment(project: Path) -> None:
    data = {
        "entryScript": "score.py",
        "sourceDirectory": "source_dir",
        "runtime": "Python",
        "condaFile": "env.yml",
        "extraDockerfileSteps": "steps.txt",
        "enableGpu": True,
        "baseImage": "mcr.microsoft.com/azureml/base:latest",
        "baseImageRegistry": {"address": "r"},
        "cudaVersion": 10.1,
    }
    spec = load_inference_config(_write(project, data))
    assert spec.conda_file_path == (project / "source_dir" / "env.yml").resolve()
    assert spec.cuda_version == "10.1"
    assert spec.warnings == (
        "runtime is deprecated (use an environment)",
        "condaFile is deprecated (use an environment)",
        "extraDockerfileSteps is accepted but ignored: it only shaped v1's Docker image",
        "enableGpu is accepted but ignored: it only shaped v1's Docker image",
        "cudaVersion is accepted but ignored: it only shaped v1's Docker image",
        "baseImage is used as the base of `modelport model package` images; deployments on "
        "this machine do not use it",
        "baseImageRegistry is accepted but ignored: it only shaped v1's Docker image",
    )
    assert "runtime 'spark-py' is not supported" in _error(project, {**data, "runtime": "spark-py"})
    assert "runtime must be 'python' or 'spark-py' (got 'java')" in _error(
        project, {**data, "runtime": "java"}
    )
    assert "condaFile 'missing.yml' does not exist" in _error(
        project, {**data, "condaFile": "missing.yml"}
    )
    assert "enableGpu must be true or false" in _error(project, {**data, "enableGpu": "yes"})


def test_sdk_inference_config_validates_like_the_file(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project)
    config = InferenceConfig(
        entry_script="score.py", source_directory="source_dir", environment=ENVIRONMENT
    )
    assert config.spec.entry_script_path == (project / "source_dir" / "score.py").resolve()
    assert config.serialize()["entryScript"] == "score.py"
    with pytest.raises(ConfigError, match=r"entry_script 'nope\.py' does not exist"):
        InferenceConfig("nope.py", source_directory="source_dir")
    with pytest.raises(ConfigError, match="environment cannot be combined with conda_file"):
        InferenceConfig("score.py", "source_dir", environment=object(), conda_file="env.yml")
    with pytest.warns(ConfigWarning, match="base_image is used as the base of"):
        InferenceConfig("score.py", "source_dir", base_image="img")
    # the object keeps its base dir: later chdir does not break it
    monkeypatch.chdir(project.parent)
    assert config.spec.entry_script_path.is_file()


def test_sdk_environment_object_stays_opaque_and_serializes(project: Path) -> None:
    class Env:
        def to_json(self) -> dict[str, str]:
            return {"name": "e"}

    os.chdir(project)
    env = Env()
    config = InferenceConfig("source_dir/score.py", environment=env)
    assert config.spec.environment is env
    assert config.serialize() == {
        "entryScript": "source_dir/score.py",
        "environment": {"name": "e"},
    }


def test_inference_config_from_file(project: Path) -> None:
    path = _write(project, {"entryScript": "score.py", "sourceDirectory": "source_dir"})
    config = InferenceConfig.from_file(path)
    assert (
        config.entry_script == "score.py"
        and config.spec.source_root == (project / "source_dir").resolve()
    )


def test_parse_rejects_non_objects() -> None:
    with pytest.raises(ConfigError, match="must be a JSON/YAML object"):
        parse_inference_config(["score.py"])
