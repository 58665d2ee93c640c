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
    from modelport.cli._docs import _commands, app
    from modelport.cli.main import typer

    root = typer.main.get_command(app)
    leaves = [
        path
        for path in _commands(root, [])
        if path and not getattr(_lookup(root, path), "commands", None)
    ]
    mine = [
        p
        for p in leaves
        if p[0] in ("server", "workspace", "folder", "model") and p[-1] != "deploy"
    ]
    assert len(mine) >= 14
    for path in mine:
        help_text = _lookup(root, path).help or ""
        assert "Example" in help_text, " ".join(path)


def _walk(node: object, path: list[str]) -> list[list[str]]:
    found = [path]
    for name, sub in (getattr(node, "commands", None) or {}).items():
        found += _walk(sub, [*path, name])
    return found


def _lookup(root: object, path: list[str]) -> object:
    node = root
    for name in path:
        node = node.commands[name]  # type: ignore[attr-defined]
    return node


def test_help_exits_zero_on_every_level() -> None:
    for args in (["--help"], ["model", "--help"], ["model", "register", "-h"]):
        result = run_cli(*args)
        assert result.returncode == 0 and "Usage" in result.stdout, result.stderr
