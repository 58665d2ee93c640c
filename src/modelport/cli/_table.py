"""Tables written without Rich, byte for byte as Rich writes them, where that is simple.

Importing ``rich.table`` costs ~30 ms of CPU, a quarter of ``modelport model list``. A table
whose cells are plain printable ASCII, each within its column's width, in a console wide enough
for the whole row, is only padding (and, on a terminal, bold for the header or the key column):
this module writes it as Rich would (cli/_output.py's two tables: a list under a
``box.SIMPLE_HEAD`` header, one object as borderless key/value rows) and returns False for
anything else (markup brackets, emoji codes, wide or control characters, wrapping, a terminal
Rich would treat specially), which Rich then renders. tests/cli/test_table.py compares the two.
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
# variables that change how Rich sees a console (a forced terminal, Jupyter); NO_COLOR keeps bold
_RICH_VARIABLES = {
    "FORCE_COLOR",
    "TTY_COMPATIBLE",
    "TTY_INTERACTIVE",
    "JUPYTER_COLUMNS",
    "JUPYTER_LINES",
}
_BOLD, _RESET = "\x1b[1m", "\x1b[0m"


def _plain(cell: str) -> bool:
    if "[" in cell or cell != cell.strip():  # markup; Rich's wrapping trims spaces
        return False
    return plain_text(cell)


def plain_text(text: str) -> bool:
    """Whether Rich prints ``text`` (without markup) as it is: printable ASCII, no emoji code."""
    if not text.isascii() or not text.isprintable():
        return False
    return not any(_maybe_emoji(name) for _, name, _ in _EMOJI_CODE.findall(text))


def _maybe_emoji(name: str) -> bool:
    if name.isdigit():
        return name in _NUMERIC_EMOJI
    return _EMOJI_NAME.fullmatch(name) is not None


def _terminal_width() -> int | None:
    """The width Rich gives a terminal console, or None where Rich has rules of its own."""
    if os.environ.get("TERM", "").strip().lower() in ("dumb", "unknown"):
        return None  # Rich: no styles, and 80 columns whatever the terminal says
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit():
        return int(columns)
    for fd in (0, 1, 2):  # Rich asks stdin, stdout, stderr in this order
        try:
            return os.get_terminal_size(fd).columns or 80
        except (OSError, ValueError):
            continue
    return 80


def write_plain(
    titles: Sequence[str],
    widths: Sequence[int],
    rows: Sequence[Sequence[str]],
    *,
    show_header: bool,
    pipe_width: int,
    key_value: bool = False,
) -> bool:
    """Write the table to stdout if it is plain (see the module docstring); False if not.

    A list (``titles`` over a rule, columns three spaces apart) or, with ``key_value``, one
    object's rows (two columns two spaces apart, keys bold on a terminal, no header).
    ``pipe_width``: the console's width when stdout is no terminal.
    """
    if _RICH_VARIABLES & os.environ.keys():
        return False
    if not (getattr(sys.stdout, "encoding", None) or "utf-8").lower().startswith("utf"):
        return False  # Rich draws the rule in ASCII there
    terminal = sys.stdout.isatty()
    width = _terminal_width() if terminal else pipe_width
    divider = "" if key_value else " "  # box=None has no vertical divider; SIMPLE_HEAD a blank
    total = sum(widths) + (2 + len(divider)) * (len(widths) - 1)
    if width is None or not widths or not rows or total > width:
        return False
    lines = [titles] if show_header else []
    for line in (*lines, *rows):
        if len(line) != len(widths) or any(
            len(cell) > w or not _plain(cell) for cell, w in zip(line, widths, strict=True)
        ):
            return False
    if terminal and key_value and any(not row[0] for row in rows):
        return False  # a bold empty cell: Rich writes no escape for it

    def render_line(cells: Sequence[str], bold: Sequence[bool]) -> str:
        # Rich pads a cell in the cell's style: content and paddings are spans of their own
        parts: list[str] = []
        for i, (cell, w, strong) in enumerate(zip(cells, widths, bold, strict=True)):
            if i:
                parts += [divider, _styled(" ", strong and terminal)]
            parts.append(_styled(cell.ljust(w), strong and terminal))
            if i < len(cells) - 1:
                parts.append(_styled(" ", strong and terminal))
        return "".join(parts)

    out = []
    if show_header:
        out.append(render_line(titles, [True] * len(titles)))
        out.append("\u2500" * total)
    style = [key_value] + [False] * (len(widths) - 1)
    out.extend(render_line(row, style) for row in rows)
    sys.stdout.write("\n".join(out) + "\n")
    return True


def _styled(text: str, bold: bool) -> str:
    return f"{_BOLD}{text}{_RESET}" if bold else text
