"""A README example is a test: the README's first command (the main job) runs in a fresh
MODELPORT_HOME, deploys the digits model, prints Healthy with the right answers, and can be run
again; afterwards nothing it started is left running."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.deploy_support import kill_leftovers, replica_pids, wait_until
from tests.e2e.sdk_deploy_support import link_env_cache

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.timeout(600)


def readme_first_command() -> list[str]:
    """The first line of the README's first ``sh`` block, without its comment."""
    text = (ROOT / "README.md").read_text()
    block = re.search(r"```sh\n(.*?)```", text, re.S)
    assert block, "README.md has no sh block"
    first = block.group(1).strip().splitlines()[0].split("#", 1)[0]
    return shlex.split(first)


def readme_cli_block(readme: Path) -> list[str]:
    """The ``modelport …`` lines of the last ``sh`` block of an example's README."""
    blocks = re.findall(r"```sh\n(.*?)```", readme.read_text(), re.S)
    lines = [line.strip() for line in blocks[-1].splitlines()]
    return [line for line in lines if line.startswith("modelport ")]


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=500)


def test_readme_main_job_deploys_digits_and_answers_right_twice(tmp_path: Path) -> None:
    command = readme_first_command()
    assert command == ["./scripts/demo"]
    home = tmp_path / "home"
    link_env_cache(home)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELPORT_")}
    env["MODELPORT_HOME"] = str(home)
    modelport = [sys.executable, "-m", "modelport.cli.main"]
    try:
        first = _run(command, env)
        assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
        out = first.stdout
        assert "Registered model digits:1" in out
        assert "Environment digits-env" in out  # the build/reuse streamed by show_output
        assert "State: Healthy" in out
        uri = re.search(r"Scoring URI: (http://127\.0\.0\.1:\d+/score)", out)
        assert uri, out
        answers = re.search(r"Answers \(HTTP POST\): (\[.*\])", out)
        expected = re.search(r"Expected \(in process\): (\[.*\])", out)
        assert answers and expected and answers.group(1) == expected.group(1)
        assert "OK: digits-svc is Healthy" in out
        assert (home / "examples" / "digits" / "inferenceconfig.json").is_file()

        # examples/digits/README.md: the CLI block runs as written, in the job's folder
        for line in readme_cli_block(ROOT / "examples" / "digits" / "README.md"):
            proc = subprocess.run(
                [*modelport, *shlex.split(line)[1:]],
                cwd=home / "examples" / "digits",
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert proc.returncode == 0, f"{line}\n{proc.stderr[-3000:]}"
            if " run " in line:
                assert proc.stdout.split() == ["[0]"], proc.stdout

        second = _run(command, env)  # idempotent: registers digits:2, replaces the service
        assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
        assert "Registered model digits:2" in second.stdout
        assert f"Scoring URI: {uri.group(1)}" in second.stdout  # same port on a rerun
        assert "OK: digits-svc is Healthy" in second.stdout
    finally:
        _run([*modelport, "service", "delete", "-n", "digits-svc"], env)
        _run([*modelport, "server", "stop"], env)
    try:
        wait_until(lambda: not replica_pids(home), 20, "no replica of the demo left")
    finally:
        kill_leftovers(home)
