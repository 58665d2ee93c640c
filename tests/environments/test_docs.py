"""The Python example of docs/environments.md runs as written (in an attached project folder)."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.conftest import Project

DOC = Path(__file__).resolve().parents[2] / "docs" / "environments.md"


@pytest.mark.envbuild
def test_docs_python_example_runs(project: Project, tmp_path):
    (example,) = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)
    example = example.replace('Environment("my-env")', 'Environment("doc-env")').replace(
        '"my-env"', '"doc-env"'
    )
    example += "\nassert env.version == '1' and built.python.is_file()\nprint('ok', built.reused)\n"
    env = {**project.server.env, "MODELPORT_ENV_CACHE": str(tmp_path / "cache")}
    result = subprocess.run(
        [sys.executable, "-c", example],
        cwd=project.folder,
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("MODELPORT_")},
            **env,
        },
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("ok False")
