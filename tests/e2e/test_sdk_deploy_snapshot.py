"""What a deploy sends, decided on the client before any request: the source snapshot, the
inference config relative to it, the environment, the model references and the service name."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelport.errors import UserError
from modelport.sdk import _snapshot, deploy
from modelport.specs import ConfigError, load_inference_config, parse_inference_config

SCORE = "def init():\n    pass\n\n\ndef run(raw):\n    return raw\n"


def _tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def _rels(pairs: list[tuple[Path, str]]) -> list[str]:
    return [rel for _, rel in pairs]


def test_snapshot_takes_the_whole_source_directory_and_skips_caches(tmp_path: Path) -> None:
    src = _tree(
        tmp_path / "src",
        {
            "score.py": SCORE,
            "lib/helpers.py": "X = 1\n",
            "lib/__pycache__/helpers.cpython-311.pyc": "",
            "data/labels.txt": "a\n",
            ".git/HEAD": "ref\n",
        },
    )
    spec = parse_inference_config(
        {"entryScript": "score.py", "sourceDirectory": "src"}, base_dirs=(tmp_path,)
    )
    assert _rels(_snapshot.snapshot_pairs(spec)) == [
        "score.py",
        "data/labels.txt",
        "lib/helpers.py",
    ]
    assert _snapshot.source_properties(spec)[_snapshot.PROP_SOURCE_DIR] == str(src.resolve())


def test_snapshot_honours_amlignore_over_gitignore(tmp_path: Path) -> None:
    _tree(
        tmp_path / "src",
        {
            "score.py": SCORE,
            ".amlignore": "# secrets stay home\nsecrets/\n*.log\n!keep.log\n/top.txt\n",
            ".gitignore": "score.py\n",  # ignored: .amlignore wins
            "secrets/key.pem": "k",
            "run.log": "x",
            "keep.log": "y",
            "top.txt": "t",
            "sub/top.txt": "t",
        },
    )
    spec = parse_inference_config(
        {"entryScript": "score.py", "sourceDirectory": "src"}, base_dirs=(tmp_path,)
    )
    assert sorted(_rels(_snapshot.snapshot_pairs(spec))) == [
        ".amlignore",
        ".gitignore",
        "keep.log",
        "score.py",
        "sub/top.txt",
    ]


def test_entry_script_excluded_by_an_ignore_file_is_refused(tmp_path: Path) -> None:
    _tree(tmp_path / "src", {"score.py": SCORE, ".gitignore": "*.py\n"})
    spec = parse_inference_config(
        {"entryScript": "score.py", "sourceDirectory": "src"}, base_dirs=(tmp_path,)
    )
    with pytest.raises(UserError, match=r"entry script score.py is excluded .*\.gitignore"):
        _snapshot.snapshot_pairs(spec)


def test_without_source_directory_only_the_entry_script_is_sent(tmp_path: Path) -> None:
    _tree(tmp_path, {"app/score.py": SCORE, "app/big.bin": "x" * 1000})
    spec = parse_inference_config({"entryScript": "app/score.py"}, base_dirs=(tmp_path,))
    pairs = _snapshot.snapshot_pairs(spec)
    assert _rels(pairs) == ["score.py"]
    assert deploy.inference_json(spec) == {"entryScript": "score.py"}


def test_inference_json_is_relative_to_the_snapshot_and_sends_the_environment_apart(
    tmp_path: Path,
) -> None:
    _tree(tmp_path / "proj", {"code/app/score.py": SCORE})
    env = {
        "name": "my-env",
        "python": {"condaDependencies": {"dependencies": [{"pip": ["numpy"]}]}},
    }
    (tmp_path / "proj" / "inferenceconfig.json").write_text(
        '{"entryScript": "app/score.py", "sourceDirectory": "code", "environment": '
        + __import__("json").dumps(env)
        + "}"
    )
    spec = load_inference_config(tmp_path / "proj" / "inferenceconfig.json")
    assert deploy.inference_json(spec) == {"entryScript": "app/score.py"}
    assert deploy.resolve_environment(None, spec, "svc") == env
    assert _rels(_snapshot.snapshot_pairs(spec)) == ["app/score.py"]


def test_conda_file_without_environment_becomes_the_service_env(tmp_path: Path) -> None:
    _tree(
        tmp_path / "src",
        {
            "score.py": SCORE,
            "env.yml": "name: x\ndependencies:\n  - python=3.11\n  - pip:\n    - joblib==1.4.2\n",
        },
    )
    spec = parse_inference_config(
        {"entryScript": "score.py", "sourceDirectory": "src", "condaFile": "env.yml"},
        base_dirs=(tmp_path,),
    )
    assert any("condaFile is deprecated" in w for w in spec.warnings)
    env = deploy.resolve_environment(None, spec, "my-svc")
    assert env["name"] == "my-svc-env"
    assert {"pip": ["joblib==1.4.2"]} in env["python"]["condaDependencies"]["dependencies"]
    assert "condaFile" not in deploy.inference_json(spec)


def test_curated_environment_travels_as_a_reference_and_a_changed_one_in_full() -> None:
    from modelport.environments.curated import get_curated
    from modelport.environments.spec import to_azure_json

    pristine = to_azure_json(get_curated("AzureML-Minimal"))
    assert deploy.environment_payload(pristine) == {"name": "AzureML-Minimal", "version": "1"}
    assert deploy.environment_payload("AzureML-Minimal") == {
        "name": "AzureML-Minimal",
        "version": None,
    }
    changed = dict(pristine, environmentVariables={"A": "1"})
    assert deploy.environment_payload(changed)["environmentVariables"] == {"A": "1"}


def test_deployment_config_defaults_to_local_and_accepts_v1_json() -> None:
    assert deploy.resolve_deployment_config(None).to_json() == {"computeType": "local"}
    config = deploy.resolve_deployment_config({"computeType": "LOCAL", "port": 6789})
    assert config.to_json() == {"computeType": "local", "port": 6789}
    with pytest.raises(ConfigError, match=r"unknown key 'prot'.*did you mean 'port'"):
        deploy.resolve_deployment_config({"computeType": "local", "prot": 6789})
    with pytest.raises(UserError, match="deployment_config must come from"):
        deploy.resolve_deployment_config(42)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["ab", "Digits", "1digits", "digits-", "a" * 33, "dig_its"])
def test_bad_service_name_is_refused_before_any_request(name: str) -> None:
    from modelport.sdk.workspace import Workspace

    # A workspace whose server does not exist: a request would fail with ServerUnreachable.
    ws = Workspace(
        "default", server_url="http://127.0.0.1:9", token="t", _details={"name": "default"}
    )
    with pytest.raises(ConfigError, match=r"service name .* is invalid"):
        deploy.deploy(ws, name, [])
