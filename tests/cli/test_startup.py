"""What a CLI call loads: only its own group, and none of the heavy parts it does not use.

`modelport model list` once imported every group, pydantic (Typer's coercion), Rich, the config
parsers and the deploy SDK: ~0.9 s of CPU per call. This pins the laziness (cli/main.py's
LazyGroups, cli/_params.py), so a group that imports something heavy at its top shows up here.
"""

from __future__ import annotations

import json
import subprocess
import sys

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
