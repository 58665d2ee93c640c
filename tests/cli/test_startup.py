"""What a CLI call loads: only its own group, and none of the heavy parts it does not use.

Against a running server, ``model list|show`` (table to a pipe, JSON, TSV) import neither httpx
(a plain-HTTP request goes through sdk/_http_lite.py), nor Rich (cli/_table.py writes plain
tables), nor pydantic: `python -X importtime` of the real command says what was imported.

`modelport model list` once imported every group, pydantic (Typer's coercion), Rich, the config
parsers and the deploy SDK: ~0.9 s of CPU per call. This pins the laziness (cli/main.py's
LazyGroups, cli/_params.py), so a group that imports something heavy at its top shows up here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.cli.conftest import CLI, Project, run_cli

HEAVY = [
    "pydantic",
    "rich",
    "yaml",
    "fastapi",
    "sqlalchemy",
    "modelport.specs",
    "modelport.environments",
    "modelport.sdk.deploy",
    "modelport.sdk.webservice",
    "modelport.sdk.package",
    "modelport.packaging",
]

CODE = """
import json, sys
from modelport.cli.main import app, _GROUPS
import typer
root = typer.main.get_command(app)
with root.make_context("modelport", ["model", "list"], resilient_parsing=True) as ctx:
    group = root.get_command(ctx, sys.argv[1])
    group.get_command(ctx, sys.argv[2]).make_context(sys.argv[2], [], parent=ctx)
others = [m for name, m in _GROUPS if name != sys.argv[1] and m in sys.modules]
heavy = [m for m in json.loads(sys.argv[3]) if m in sys.modules]
print(json.dumps({"others": others, "heavy": heavy}))
"""


def test_model_list_and_service_list_load_only_what_they_use() -> None:
    for group, command in (("model", "list"), ("service", "list")):
        out = subprocess.run(
            [sys.executable, "-c", CODE, group, command, json.dumps(HEAVY)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert out.returncode == 0, out.stderr
        loaded = json.loads(out.stdout)
        assert loaded == {"others": [], "heavy": []}, (group, loaded)


# what the round trip of a short command against a plain-HTTP server must not import
NOT_ON_A_ROUND_TRIP = [
    "httpx",
    "httpcore",
    "rich",
    "pydantic",
    "yaml",
    "jmespath",
    "typer.rich_utils",
]


def _imported(project: Project, *args: str) -> set[str]:
    result = run_cli(*args, env=project.server.env, cwd=project.folder)
    assert result.returncode == 0, result.stderr
    traced = subprocess.run(
        [CLI[0], "-X", "importtime", *CLI[1:], *args],
        env=_env(project),
        cwd=project.folder,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert traced.returncode == 0, traced.stderr
    assert traced.stdout == result.stdout  # the traced run printed what the plain run did
    return {
        line.rsplit("|", 1)[1].strip()
        for line in traced.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }


def _env(project: Project) -> dict[str, str]:
    """run_cli's environment: the outer MODELPORT_* variables replaced by the server's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELPORT_")}
    return env | {"COLUMNS": "200"} | project.server.env


def test_a_round_trip_imports_neither_httpx_nor_rich_nor_pydantic(
    project: Project, tmp_path: Path
) -> None:
    model = tmp_path / "small.pkl"
    model.write_bytes(b"\x80" * 64)
    project.ok("model", "register", "-n", "startup-small", "-p", str(model))
    for args in (
        ("model", "list"),
        ("model", "list", "-o", "json"),
        ("model", "list", "-o", "tsv"),
        ("model", "show", "-n", "startup-small"),
        ("model", "show", "-n", "startup-small", "-o", "json"),
        ("service", "list"),
    ):
        imported = _imported(project, *args)
        assert "modelport.sdk._http_lite" in imported, args  # it did go to the server
        heavy = sorted(
            m for m in imported if any(m == h or m.startswith(h + ".") for h in NOT_ON_A_ROUND_TRIP)
        )
        assert heavy == [], (args, heavy)


ON_A_TERMINAL = """
import atexit, sys
out, sys.argv = sys.argv[1], ["modelport", *sys.argv[2:]]
atexit.register(lambda: open(out, "w").write("\\n".join(k for k, v in sys.modules.items() if v)))
from modelport.cli.main import main
main()
"""


def test_on_a_terminal_a_round_trip_imports_no_rich_either(
    project: Project, tmp_path: Path
) -> None:
    """stdin, stdout and stderr on a pseudo-terminal: bold headers without Rich, and the
    progress bar's Rich only when a transfer starts."""
    import pty

    model = tmp_path / "small.pkl"
    model.write_bytes(b"\x80" * 64)
    project.ok("model", "register", "-n", "startup-small", "-p", str(model))
    loaded = tmp_path / "modules.txt"
    primary, secondary = pty.openpty()
    try:
        for args in (("model", "list"), ("model", "show", "-n", "startup-small")):
            proc = subprocess.run(
                [CLI[0], "-c", ON_A_TERMINAL, str(loaded), *args],
                env=_env(project) | {"TERM": "xterm", "COLUMNS": "200"},
                cwd=project.folder,
                stdin=secondary,
                stdout=secondary,
                stderr=secondary,
                timeout=60,
            )
            assert proc.returncode == 0, args
            modules = loaded.read_text().split()
            assert "modelport.sdk._http_lite" in modules, args
            heavy = sorted(m for m in modules if m == "rich" or m.startswith(("rich.", "httpx")))
            assert heavy == [], (args, heavy)
    finally:
        os.close(primary)
        os.close(secondary)
