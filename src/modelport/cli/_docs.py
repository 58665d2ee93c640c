"""Generate docs/cli.md from the commands' own ``--help`` (so the reference cannot drift).

python -m modelport.cli._docs            # rewrite docs/cli.md
python -m modelport.cli._docs --check    # exit 1 if docs/cli.md is out of date (tests run this)
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# Fixed width and no colour before Typer/Rich read the environment, so the output is stable.
os.environ["TERMINAL_WIDTH"] = "100"
os.environ["COLUMNS"] = "100"
os.environ["NO_COLOR"] = "1"
os.environ.pop("FORCE_COLOR", None)

import typer

from modelport.cli.main import app

DOC = Path(__file__).resolve().parents[3] / "docs" / "cli.md"
HEADER = """# CLI reference

Generated from `--help` by `python -m modelport.cli._docs` (or `scripts/gen-cli-docs`); do not
edit by hand: `tests/cli/test_docs.py` fails when this page and the commands disagree.

Every command also takes the global options `-w/--workspace-name`, `--path`, `-o/--output
table|json|yaml|tsv|none` and `--query` (JMESPath). Errors print one line `Error: …` on stderr and
exit 1 (2 for usage errors); set `MODELPORT_DEBUG=1` to see the traceback.
"""


def _help(path: list[str]) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
        app(args=[*path, "--help"], prog_name="modelport", standalone_mode=False)
    lines = [line.rstrip() for line in out.getvalue().splitlines()]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)


def _walk(command: Any, path: list[str], ctx: Any) -> Iterator[tuple[list[str], Any]]:
    yield path, command
    if not hasattr(command, "list_commands"):
        return
    for name in command.list_commands(ctx):  # the root's groups load on demand
        yield from _walk(command.get_command(ctx, name), [*path, name], ctx)


def commands() -> list[tuple[list[str], Any]]:
    """Every command and group as (path below `modelport`, click command), in --help order."""
    root = typer.main.get_command(app)
    with root.make_context("modelport", [], resilient_parsing=True) as ctx:
        return list(_walk(root, [], ctx))


def render() -> str:
    parts = [HEADER]
    for path, _ in commands():
        title = " ".join(["modelport", *path])
        level = "#" * min(2 + max(len(path) - 1, 0), 4)
        parts.append(f"{level} `{title}`\n\n```text\n{_help(path)}\n```\n")
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    text = render()
    if "--check" in args:
        current = DOC.read_text(encoding="utf-8") if DOC.exists() else ""
        if current != text:
            print(
                f"{DOC} is out of date: run `python -m modelport.cli._docs` and commit it.",
                file=sys.stderr,
            )
            return 1
        return 0
    DOC.write_text(text, encoding="utf-8")
    print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
