"""The script's environment: built like a service's (uv, the shared cache) and used by the workers.

``six`` is in the built environment and not in the test venv, so a script importing it runs only
in its own environment; without one the same script fails at load with the reason.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.batch.conftest import BuiltEnv
from tests.batch.scripts import make_files, write

pytestmark = pytest.mark.envbuild

CLI = [sys.executable, "-m", "modelport.cli.main"]

USES_SIX = """
import os, sys
import six

def init():
    pass

def run(mini_batch):
    return [f"{os.path.basename(p)} {six.__version__} {sys.prefix}" for p in mini_batch]
"""


def _run(args: list[str], env_cache: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MODELPORT_ENV_CACHE": str(env_cache)}
    return subprocess.run(
        [*CLI, "batch", "run", *args], cwd=cwd, env=env, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip


def test_workers_run_in_the_built_environment(tmp_path: Path, script_env: BuiltEnv) -> None:
    assert importlib.util.find_spec("six") is None  # the driver's venv cannot run this script
    write(tmp_path, "score.py", USES_SIX)
    make_files(tmp_path / "in", [f"f{i}.txt" for i in range(6)])
    result = _run(
        ["--entry-script", "score.py", "--input", "in", "--output", "out", "--process-count",
         "2", "--mini-batch-size", "2", "--environment", str(script_env.requirements)],
        script_env.cache, tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "already built; reusing it" in result.stderr  # the fixture's build, from the cache
    summary = json.loads(result.stdout)
    assert summary["succeeded"] == 6 and summary["engine"] == "local"
    env_dir = str(Path(script_env.python).parent.parent)
    rows = (tmp_path / "out" / "parallel_run_step.txt").read_text().splitlines()
    assert rows == [f"f{i}.txt 1.16.0 {env_dir}" for i in range(6)]
    log = tmp_path / "out" / "runs" / summary["runId"] / "logs" / "environment.log"
    assert "reusing it" in log.read_text()


def test_without_the_environment_the_script_fails_with_the_reason(
    tmp_path: Path, script_env: BuiltEnv
) -> None:
    write(tmp_path, "score.py", USES_SIX)
    make_files(tmp_path / "in", ["a.txt"])
    result = _run(
        ["--entry-script", "score.py", "--input", "in", "--output", "out"], script_env.cache,
        tmp_path,
    )  # fmt: skip
    assert result.returncode != 0
    assert "No module named 'six'" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unknown_environment_is_one_line(tmp_path: Path, script_env: BuiltEnv) -> None:
    write(tmp_path, "score.py", USES_SIX)
    make_files(tmp_path / "in", ["a.txt"])
    result = _run(
        ["--entry-script", "score.py", "--input", "in", "--output", "out", "--environment",
         "no-such-env.txt"],
        script_env.cache, tmp_path,
    )  # fmt: skip
    assert result.returncode != 0
    assert "environment 'no-such-env.txt' is not a file or a folder" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_v1_environment_object_is_built_and_its_variables_reach_the_script(
    tmp_path: Path, script_env: BuiltEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    from modelport.parallel_run.config import ParallelRunConfig
    from modelport.parallel_run.driver import BatchJob, run_batch
    from modelport.sdk.environment import Environment

    monkeypatch.setenv("MODELPORT_ENV_CACHE", str(script_env.cache))
    env = Environment.from_pip_requirements("scoring", str(script_env.requirements))
    env.environment_variables = {"GREETING": "hello"}
    script = write(
        tmp_path, "score.py", USES_SIX.replace("six.__version__", "os.environ['GREETING']")
    )
    inputs = make_files(tmp_path / "in", ["a.txt"])
    config = ParallelRunConfig(
        entry_script=str(script), error_threshold=0, output_action="append_row", environment=env
    )
    _, summary = run_batch(config, BatchJob([str(inputs)], str(tmp_path / "out")))
    assert summary.status == "Completed", summary.error
    env_dir = str(Path(script_env.python).parent.parent)  # the same build: same lock, same key
    assert (tmp_path / "out" / "parallel_run_step.txt").read_text() == f"a.txt hello {env_dir}\n"
