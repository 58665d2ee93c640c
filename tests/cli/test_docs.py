"""docs/cli.md is generated from --help: fail when they drift apart, and check the help teaches."""

from __future__ import annotations

import subprocess
import sys

from tests.cli.conftest import run_cli


def test_cli_reference_matches_the_commands() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "modelport.cli._docs", "--check"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr


def test_every_command_help_has_an_example() -> None:
    from modelport.cli._docs import commands

    leaves = [(path, cmd) for path, cmd in commands() if path and not hasattr(cmd, "commands")]
    mine = [
        (path, cmd)
        for path, cmd in leaves
        if path[0] in ("server", "workspace", "folder", "model") and path[-1] != "deploy"
    ]
    assert len(mine) >= 14
    for path, cmd in mine:
        assert "Example" in (cmd.help or ""), " ".join(path)


def test_help_exits_zero_on_every_level() -> None:
    for args in (["--help"], ["model", "--help"], ["model", "register", "-h"]):
        result = run_cli(*args)
        assert result.returncode == 0 and "Usage" in result.stdout, result.stderr
