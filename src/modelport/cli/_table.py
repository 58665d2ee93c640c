"""List tables written without Rich, byte for byte as Rich writes them, where that is simple.

Importing ``rich.table`` costs ~30 ms of CPU, a sixth of ``modelport model list``. A table whose
cells are plain printable ASCII, each within its column's width, in a console wide enough for the
whole row, is only padding: this module writes it as Rich's ``box.SIMPLE_HEAD`` table without
edges would (cli/_output.py) and returns False for anything else (markup brackets, emoji codes,
wide or control characters, wrapping, a terminal's styles), which Rich then renders.
tests/cli/test_output.py compares the two on the same rows.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Sequence

# Rich reads ":name:" as an emoji code (rich/_emoji_replace.py, the same pattern) when the name,
# lowercased, is one of its emoji: those are made of these characters, and the only numeric ones
# are 100 and 1234. A name with any other character ("://" in a URL) is text.
_EMOJI_CODE = re.compile(r"(:(\S*?)(?:(?:\-)(emoji|text))?:)")
_EMOJI_NAME = re.compile(r"[!#&()*+\-.0-9_a-zA-Z]+")
_NUMERIC_EMOJI = {"100", "1234"}
# variables that make Rich treat any output as a terminal
_FORCED_TERMINAL = {"FORCE_COLOR", "TTY_COMPATIBLE"}
LIST_GAP = "   "  # box.SIMPLE_HEAD: right padding, the blank vertical divider, left padding
KEY_VALUE_GAP = "  "  # box=None: right padding, left padding


def _plain(cell: str) -> bool:
    if not cell.isascii() or not cell.isprintable() or "[" in cell or cell != cell.strip():
        return False
    return not any(_maybe_emoji(name) for _, name, _ in _EMOJI_CODE.findall(cell))


def _maybe_emoji(name: str) -> bool:
    if name.isdigit():
        return name in _NUMERIC_EMOJI
    return _EMOJI_NAME.fullmatch(name) is not None


def write_plain(
    titles: Sequence[str],
    widths: Sequence[int],
    rows: Sequence[Sequence[str]],
    *,
    show_header: bool,
    console_width: int,
    gap: str = LIST_GAP,
) -> bool:
    """Write the table to stdout if it is plain (see the module docstring); False if not.
    ``gap``: what separates two columns (:data:`LIST_GAP`, or :data:`KEY_VALUE_GAP` for the
    borderless two-column table of one object)."""
    if sys.stdout.isatty() or _FORCED_TERMINAL & os.environ.keys():
        return False  # Rich styles the header on a terminal and fits the terminal's width
    if not (getattr(sys.stdout, "encoding", None) or "utf-8").lower().startswith("utf"):
        return False  # Rich draws the rule in ASCII there
    total = sum(widths) + len(gap) * (len(widths) - 1)
    if not widths or not rows or total > console_width:
        return False
    lines = [titles] if show_header else []
    for line in (*lines, *rows):
        if len(line) != len(widths) or any(
            len(cell) > width or not _plain(cell) for cell, width in zip(line, widths, strict=True)
        ):
            return False
    out = []
    if show_header:
        out.append(gap.join(t.ljust(w) for t, w in zip(titles, widths, strict=True)))
        out.append("\u2500" * total)
    out.extend(gap.join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows)
    sys.stdout.write("\n".join(out) + "\n")
    return True
