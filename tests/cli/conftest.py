"""CLI test helpers: the real ``modelport`` command in a subprocess, with a chosen environment."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ServerProcess

CLI = [sys.executable, "-m", "modelport.cli.main"]


def run_cli(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run ``modelport ARGS`` with the outer MODELPORT_* variables replaced by ``env``."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("MODELPORT_")}
    full_env |= {"COLUMNS": "200"} | (env or {})
    return subprocess.run(
        [*CLI, *args],
        env=full_env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], code: int = 1) -> str:
    """Exit ``code``, nothing on stdout, one ``Error: …`` line on stderr and no traceback."""
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: "), result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


@dataclass
class Project:
    """A project folder attached to a fresh workspace; ``run`` runs the CLI inside it."""

    server: ServerProcess
    folder: Path
    workspace: str

    def run(self, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        return run_cli(*args, env=self.server.env, cwd=cwd or self.folder)

    def ok(self, *args: str, cwd: Path | None = None) -> str:
        result = self.run(*args, cwd=cwd)
        assert result.returncode == 0, (result.stdout, result.stderr)
        assert "Traceback" not in result.stderr
        return result.stdout


@pytest.fixture(scope="module")
def project(workspace_server: ServerProcess, tmp_path_factory: pytest.TempPathFactory) -> Project:
    folder = tmp_path_factory.mktemp("project")
    name = f"c-{uuid.uuid4().hex[:12]}"
    proj = Project(workspace_server, folder, name)
    proj.ok("workspace", "create", "-w", name)
    proj.ok("folder", "attach", "-w", name)
    return proj
