"""Rendering of command results: ``-o table|json|yaml|tsv|none`` and ``--query`` (JMESPath).

``render(data, opts)`` prints one result. ``render_items(items, opts)`` prints a list that arrives
page by page without holding it whole: JSON, YAML and TSV stream item by item, and tables print
each page under the header of the first. ``--query`` needs the whole list (a JMESPath expression
can look at all of it), so with ``--query`` a list is collected first.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from itertools import islice
from typing import TYPE_CHECKING, Any

from modelport.cli._options import CommonOptions, OutputFormat
from modelport.cli._table import plain_text, write_plain
from modelport.errors import UserError

if TYPE_CHECKING:  # Rich loads for tables and notes only: -o json/tsv/none never pay for it
    from rich.console import Console

TABLE_PAGE = 100
PIPE_WIDTH = 400  # columns of a table written to a pipe or file (never cut at 80)


def stdout_console() -> Console:
    from rich.console import Console

    # Piped output must not be cut at 80 columns.
    return Console(
        width=None if sys.stdout.isatty() else PIPE_WIDTH, highlight=False, soft_wrap=False
    )


def apply_query(data: Any, query: str | None) -> Any:
    if not query:
        return data
    import jmespath
    from jmespath.exceptions import JMESPathError

    try:
        return jmespath.search(query, data)
    except JMESPathError as exc:
        raise UserError(f"Invalid --query {query!r}: {exc}") from None


def render(
    data: Any, opts: CommonOptions, *, columns: Sequence[str] | None = None, rows: bool = False
) -> None:
    """Print one result in the chosen format; ``rows``: ``data`` is a list of items."""
    rows = rows or isinstance(data, list)  # a command's list stays a list of rows after --query
    data = apply_query(data, opts.query)
    if opts.query:
        columns = None
    fmt = opts.output
    if fmt is OutputFormat.none:
        return
    if fmt is OutputFormat.json:
        _write(json.dumps(data, indent=2, default=str) + "\n")
    elif fmt is OutputFormat.yaml:
        _write(_yaml(data))
    elif fmt is OutputFormat.tsv:
        if isinstance(data, list) and (rows or any(isinstance(v, Mapping | list) for v in data)):
            for row in data:  # a list of items: one line each
                _write(_tsv_row(row) + "\n")
        else:  # one object, or a list query on it ("[name, version]"): one line, as az prints
            _write(_tsv_row(data) + "\n")
    elif isinstance(data, list):
        render_items(iter(data), opts.__class__(output=opts.output), columns=columns)
    elif isinstance(data, Mapping):
        _print_key_values(data)
    elif data is not None:
        _write(_cell(data) + "\n")


def render_items(
    items: Iterable[Mapping[str, Any] | Any],
    opts: CommonOptions,
    *,
    columns: Sequence[str] | None = None,
    empty_hint: str | None = None,
) -> None:
    """Print a list that may be long, a page at a time. ``empty_hint``: a table with no rows
    prints nothing on stdout, so this line goes to stderr to say why (JSON stays ``[]``)."""
    if opts.query:
        render(list(items), opts, columns=columns, rows=True)
        return
    fmt = opts.output
    iterator = iter(items)
    if fmt is OutputFormat.none:
        for _ in iterator:
            pass
    elif fmt is OutputFormat.json:
        _json_stream(iterator)
    elif fmt is OutputFormat.yaml:
        empty = True
        for item in iterator:
            empty = False
            _write(_yaml([item]))
        if empty:
            _write("[]\n")
    elif fmt is OutputFormat.tsv:
        for item in iterator:
            _write(_tsv_row(item) + "\n")
    elif not _table_stream(iterator, columns) and empty_hint:
        info(empty_hint)


def _json_stream(items: Iterator[Any]) -> None:
    first = True
    for item in items:
        text = json.dumps(item, indent=2, default=str).replace("\n", "\n  ")
        _write(("[\n  " if first else ",\n  ") + text)
        first = False
    _write("[]\n" if first else "\n]\n")


def _table_stream(items: Iterator[Any], columns: Sequence[str] | None) -> bool:
    """Print the items as table pages; False if there were none."""
    console: Console | None = None
    widths: list[int] | None = None
    first = True
    while page := list(islice(items, TABLE_PAGE)):
        rows = [item if isinstance(item, Mapping) else {"Result": item} for item in page]
        cols = list(columns) if columns else _columns_of(rows)
        cells = [[_cell(row.get(c)) for c in cols] for row in rows]
        if widths is None:
            # The first page fixes the column widths so later pages line up under one header.
            widths = [max(len(_title(c)), *(len(r[i]) for r in cells)) for i, c in enumerate(cols)]
        titles = [_title(c) for c in cols]
        # plain ASCII rows that fit: written as Rich would, without importing it (cli/_table.py)
        if write_plain(titles, widths, cells, show_header=first, pipe_width=PIPE_WIDTH):
            first = False
            continue
        from rich import box
        from rich.table import Table

        console = console or stdout_console()
        table = Table(box=box.SIMPLE_HEAD, show_edge=False, show_header=first, pad_edge=False)
        for col, width in zip(cols, widths, strict=False):
            # Fixed widths keep later pages under the first page's header; longer cells wrap.
            table.add_column(_title(col), width=width, overflow="fold")
        for row_cells in cells:
            table.add_row(*row_cells)
        console.print(table)
        first = False
    return not first


def _columns_of(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    cols: list[str] = []
    for row in rows:
        for key in row:
            if key not in cols:
                cols.append(key)
    return cols


def _title(column: str) -> str:
    # camelCase → "Camel case"-ish headers like az's tables ("createdTime" → "CreatedTime").
    return column[:1].upper() + column[1:]


def _print_key_values(data: Mapping[str, Any]) -> None:
    rows = [[str(key), _cell(value)] for key, value in data.items()]
    widths = [max((len(row[i]) for row in rows), default=0) for i in (0, 1)]
    if write_plain(
        ["", ""], widths, rows, show_header=False, pipe_width=PIPE_WIDTH, key_value=True
    ):
        return
    from rich.table import Table

    table = Table(box=None, show_header=False, pad_edge=False)
    table.add_column("Key", style="bold")
    table.add_column("Value", overflow="fold")
    for key, value in data.items():
        table.add_row(str(key), _cell(value))
    stdout_console().print(table)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={_cell(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(_cell(v) for v in value)
    return str(value)


def _tsv_row(value: Any) -> str:
    """Like az's tsv: the scalar fields of an object, tab-separated; nested values are left out."""
    if isinstance(value, Mapping):
        return "\t".join(_tsv_cell(v) for v in value.values() if not isinstance(v, Mapping | list))
    if isinstance(value, list):
        return "\t".join(_tsv_cell(v) for v in value if not isinstance(v, Mapping | list))
    return _tsv_cell(value)


def _tsv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "True" if value else "False"
    return str(value).replace("\t", " ").replace("\n", " ")


def _yaml(data: Any) -> str:
    import yaml  # only -o yaml pays for it

    return str(yaml.safe_dump(_plain(data), sort_keys=False, allow_unicode=True))


def _plain(value: Any) -> Any:
    """YAML-safe copy (enums, paths and the like become strings)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _write(text: str) -> None:
    sys.stdout.write(text)


def info(message: str) -> None:
    """A human note on stderr (never mixed into machine-readable stdout)."""
    if plain_text(message):  # what Rich would print, without importing it
        sys.stderr.write(message + "\n")
        return
    from rich.console import Console

    Console(stderr=True, highlight=False, soft_wrap=True).print(message, markup=False)
