"""`modelport model deploy` / `modelport service` refusals that need no server: each is one line
on stderr naming what is wrong, a non-zero exit, and no traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

MODELPORT = [sys.executable, "-m", "modelport.cli.main"]
SCORE = "def init():\n    pass\n\n\ndef run(raw):\n    return raw\n"


def cli(args: list[str], cwd: Path, home: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELPORT_")}
    # Nothing listens on port 9: a command that reached for a server would fail differently.
    env |= {"MODELPORT_HOME": str(home), "MODELPORT_URL": "http://127.0.0.1:9", "COLUMNS": "200"}
    return subprocess.run(
        MODELPORT + args, cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )


def one_error_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode != 0, proc
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("Error:")]
    assert len(errors) == 1, proc.stderr
    return errors[0]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "score.py").write_text(SCORE)
    (tmp_path / "inferenceconfig.json").write_text(
        json.dumps({"entryScript": "score.py", "sourceDirectory": "src"})
    )
    return tmp_path


def test_deployment_config_typo_names_the_key(project: Path, tmp_path: Path) -> None:
    (project / "deploymentconfig.json").write_text('{"computeType": "local", "prot": 6789}')
    proc = cli(
        ["model", "deploy", "-n", "svc-a", "--ic", "inferenceconfig.json", "--dc",
         "deploymentconfig.json"],
        project, tmp_path / "home",
    )  # fmt: skip
    line = one_error_line(proc)
    assert proc.returncode == 1
    assert "unknown key 'prot'" in line and "did you mean 'port'" in line
    assert "deploymentconfig.json" in line


def test_inference_config_typo_names_the_key(project: Path, tmp_path: Path) -> None:
    (project / "inferenceconfig.json").write_text(
        json.dumps({"entryScrpt": "score.py", "sourceDirectory": "src"})
    )
    proc = cli(
        ["model", "deploy", "-n", "svc-a", "--ic", "inferenceconfig.json"], project, tmp_path / "h"
    )
    line = one_error_line(proc)
    assert proc.returncode == 1
    assert "unknown key 'entryScrpt'" in line and "entryScript" in line


def test_missing_entry_script_is_named(project: Path, tmp_path: Path) -> None:
    (project / "inferenceconfig.json").write_text(
        json.dumps({"entryScript": "scor.py", "sourceDirectory": "src"})
    )
    proc = cli(
        ["model", "deploy", "-n", "svc-a", "--ic", "inferenceconfig.json"], project, tmp_path / "h"
    )
    assert "entryScript 'scor.py' does not exist" in one_error_line(proc)


def test_bad_value_names_key_and_allowed_values(project: Path, tmp_path: Path) -> None:
    (project / "dc.yml").write_text("computeType: ACI\ncontainerResourceRequirements:\n  cpu: -1\n")
    proc = cli(["model", "deploy", "-n", "svc-a", "--dc", "dc.yml"], project, tmp_path / "h")
    line = one_error_line(proc)
    assert "containerResourceRequirements.cpu" in line and "> 0" in line


def test_invalid_service_name_quotes_the_rule(project: Path, tmp_path: Path) -> None:
    proc = cli(
        ["model", "deploy", "-n", "My_Service", "--ic", "inferenceconfig.json"],
        project,
        tmp_path / "h",
    )
    line = one_error_line(proc)
    assert "'My_Service' is invalid" in line and "3-32 characters" in line


def test_missing_name_is_a_usage_error(project: Path, tmp_path: Path) -> None:
    proc = cli(["model", "deploy", "--ic", "inferenceconfig.json"], project, tmp_path / "h")
    assert proc.returncode == 2
    assert "--name" in proc.stderr and "Traceback" not in proc.stderr


def test_regen_key_refuses_an_unknown_key_kind_before_any_request(
    project: Path, tmp_path: Path
) -> None:
    # The server is unreachable, so this error must come from the client's own check or the
    # connection: both are one line without a traceback.
    proc = cli(["service", "regen-key", "-n", "svc-a", "-k", "Tertiary"], project, tmp_path / "h")
    one_error_line(proc)


@pytest.mark.parametrize(
    "command",
    [
        ["model", "deploy"],
        ["service", "list"],
        ["service", "show"],
        ["service", "get-logs"],
        ["service", "update"],
        ["service", "delete"],
        ["service", "run"],
        ["service", "reload"],
        ["service", "get-keys"],
        ["service", "regen-key"],
        ["service", "get-access-token"],
    ],
)
def test_help_teaches_with_an_example(command: list[str]) -> None:
    from typer.testing import CliRunner

    from modelport.cli.main import app

    result = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "Example: " in text and "modelport " + command[0] in text


def test_entry_script_flag_overrides_the_file_and_is_checked(project: Path, tmp_path: Path) -> None:
    proc = cli(
        [
            "model",
            "deploy",
            "-n",
            "svc-a",
            "--ic",
            "inferenceconfig.json",
            "--entry-script",
            "nope.py",
        ],
        project,
        tmp_path / "h",
    )
    line = one_error_line(proc)
    assert "--entry-script 'nope.py' does not exist" in line


def test_inference_spec_lays_flags_over_the_file(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from modelport.cli.deploy import inference_spec

    (project / "other").mkdir()
    (project / "other" / "main.py").write_text(SCORE)
    monkeypatch.chdir(project)
    spec = inference_spec(project / "inferenceconfig.json", "main.py", Path("other"))
    assert spec.entry_script_path == (project / "other" / "main.py").resolve()
    spec = inference_spec(None, "src/score.py", None)
    assert spec.entry_script_in_source == "score.py" and spec.source_root is None
    assert inference_spec(project / "inferenceconfig.json", None, None).entry_script == "score.py"


def test_compute_target_of_v1_commands_is_refused_with_the_way_out(
    project: Path, tmp_path: Path
) -> None:
    proc = cli(
        ["model", "deploy", "-n", "svc-a", "--ic", "inferenceconfig.json", "--ct", "myaks"],
        project,
        tmp_path / "h",
    )
    line = one_error_line(proc)
    # --ct names an attached Kubernetes target: it needs an AKS/kubernetes --dc
    assert "--compute-target myaks goes with a --dc of computeType AKS/kubernetes" in line
