"""cli/_table.py writes a list table without Rich: the same bytes as Rich, or it declines."""

from __future__ import annotations

import io
from collections.abc import Sequence
from contextlib import redirect_stdout

import pytest
from rich import box
from rich.console import Console
from rich.table import Table

from modelport.cli import _output
from modelport.cli._options import CommonOptions, OutputFormat
from modelport.cli._table import write_plain

TITLES = ["Name", "Id", "Version", "CreatedTime"]
ROWS = [
    ["digits", "digits:1", "1", "2026-12-05T11:40:27.812104+00:00"],
    ["a", "a:12", "12", ""],
    ["x.y_z-1", "x.y_z-1:3", "3", "2026-01-01T00:00:00+00:00"],
    ["url", "aml://asset/url:4", "4", "key=a:b/c, n=:12:"],  # colons that are no emoji code
]


def _widths(titles: Sequence[str], rows: Sequence[Sequence[str]]) -> list[int]:
    return [max(len(t), *(len(r[i]) for r in rows)) for i, t in enumerate(titles)]


def _rich(
    titles: Sequence[str], widths: Sequence[int], rows: Sequence[Sequence[str]], header: bool
) -> str:
    """What cli/_output.py's Rich table writes to a pipe."""
    buf = io.StringIO()
    console = Console(file=buf, width=_output.PIPE_WIDTH, highlight=False, soft_wrap=False)
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, show_header=header, pad_edge=False)
    for title, width in zip(titles, widths, strict=True):
        table.add_column(title, width=width, overflow="fold")
    for row in rows:
        table.add_row(*row)
    console.print(table)
    return buf.getvalue()


def _plain(
    titles: Sequence[str], widths: Sequence[int], rows: Sequence[Sequence[str]], header: bool
) -> str | None:
    buf = io.StringIO()
    with redirect_stdout(buf):
        done = write_plain(titles, widths, rows, show_header=header, pipe_width=_output.PIPE_WIDTH)
    return buf.getvalue() if done else None


@pytest.mark.parametrize("header", [True, False])
@pytest.mark.parametrize("rows", [ROWS, ROWS[:1], [["", "", "", ""]]])
def test_plain_rows_are_written_as_rich_writes_them(header: bool, rows: list[list[str]]) -> None:
    widths = _widths(TITLES, rows)
    assert _plain(TITLES, widths, rows, header) == _rich(TITLES, widths, rows, header)
    wider = [w + 3 for w in widths]  # a later page under the first page's wider columns
    assert _plain(TITLES, wider, rows, header) == _rich(TITLES, wider, rows, header)


@pytest.mark.parametrize(
    "cell",
    [
        "[bold]markup",  # Rich reads markup
        "thumbs :+1: up",  # and emoji codes
        "score :100:",
        "a:smile:b",
        "x :Thumbs_Up-emoji: y",
        "caf\u00e9",  # not ASCII (cell widths)
        "\u4e2d\u6587",  # wide characters
        "tab\there",
        "line\nbreak",
        " padded ",
        "x" * 50,  # longer than its column: Rich folds it
    ],
)
def test_anything_rich_would_change_is_left_to_rich(cell: str) -> None:
    rows = [["digits", "digits:1", "1", cell]]
    widths = _widths(TITLES, [["digits", "digits:1", "1", "short"]])
    assert _plain(TITLES, widths, rows, True) is None


def test_a_table_wider_than_the_pipe_is_left_to_rich() -> None:
    rows = [["n" * 200, "i" * 200, "1", ""]]
    assert _plain(TITLES, _widths(TITLES, rows), rows, True) is None


def test_render_items_pages_mix_both_writers_in_order(capsys: pytest.CaptureFixture[str]) -> None:
    items = [{"name": f"m{i}", "note": "plain"} for i in range(3)]
    items[1]["note"] = "[red]"  # this page goes through Rich
    opts = CommonOptions(output=OutputFormat.table)
    old_page = _output.TABLE_PAGE
    _output.TABLE_PAGE = 1
    try:
        _output.render_items(iter(items), opts)
    finally:
        _output.TABLE_PAGE = old_page
    widths = [4, 5]
    expected = "".join(
        _rich(["Name", "Note"], widths, [[item["name"], item["note"]]], header=i == 0)
        for i, item in enumerate(items)
    )
    assert capsys.readouterr().out == expected


def _rich_key_values(data: dict[str, str]) -> str:
    """What cli/_output.py's Rich key/value table of one object writes to a pipe."""
    buf = io.StringIO()
    console = Console(file=buf, width=_output.PIPE_WIDTH, highlight=False, soft_wrap=False)
    table = Table(box=None, show_header=False, pad_edge=False)
    table.add_column("Key", style="bold")
    table.add_column("Value", overflow="fold")
    for key, value in data.items():
        table.add_row(key, value)
    console.print(table)
    return buf.getvalue()


@pytest.mark.parametrize(
    "data",
    [
        {"name": "digits", "id": "digits:1", "description": "", "url": "aml://asset/digits:1"},
        {"k": "v"},
        {"name": "digits", "tags": "[team]"},  # markup: Rich's
        {"name": "d" * 250, "description": "x " * 100},  # wider than the pipe: Rich's
    ],
)
def test_one_object_is_written_as_rich_writes_it(
    data: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    _output.render(data, CommonOptions(output=OutputFormat.table))
    assert capsys.readouterr().out == _rich_key_values(data)


class _Terminal(io.StringIO):
    """A stdout that says it is a terminal (as Rich and cli/_table.py ask)."""

    def isatty(self) -> bool:
        return True


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> _Terminal:
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.setenv("COLUMNS", "120")
    for name in ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "NO_COLOR", "COLORTERM"):
        monkeypatch.delenv(name, raising=False)
    return _Terminal()  # tests write to it with redirect_stdout (pytest resets sys.stdout)


def _through_rich(render: object, terminal: _Terminal, monkeypatch: pytest.MonkeyPatch) -> str:
    """What cli/_output.py writes when cli/_table.py declines (Rich, on the same terminal)."""
    monkeypatch.setattr(_output, "write_plain", lambda *args, **kwargs: False)
    assert callable(render)
    with redirect_stdout(terminal):
        render()
    return terminal.getvalue()


@pytest.mark.parametrize("no_color", [False, True])
def test_on_a_terminal_bold_headers_and_keys_are_written_as_rich_writes_them(
    terminal: _Terminal, monkeypatch: pytest.MonkeyPatch, no_color: bool
) -> None:
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")  # colours off; Rich keeps bold
    opts = CommonOptions(output=OutputFormat.table)
    items = [dict(zip(["name", "id", "version", "createdTime"], row, strict=True)) for row in ROWS]
    obj = items[0] | {"description": "", "url": "aml://asset/digits:1"}
    for render in (
        lambda: _output.render_items(iter(items), opts),
        lambda: _output.render(obj, opts),
    ):
        with redirect_stdout(terminal):
            render()
        ours = terminal.getvalue()
        terminal.seek(0)
        terminal.truncate()
        with monkeypatch.context() as patched:
            theirs = _through_rich(render, terminal, patched)
        terminal.seek(0)
        terminal.truncate()
        assert "\x1b[1m" in ours
        assert ours == theirs


@pytest.mark.parametrize("env", [{"COLUMNS": "40"}, {"TERM": "dumb"}, {"FORCE_COLOR": "1"}])
def test_a_narrow_dumb_or_forced_terminal_is_left_to_rich(
    terminal: _Terminal, monkeypatch: pytest.MonkeyPatch, env: dict[str, str]
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    widths = _widths(TITLES, ROWS)
    with redirect_stdout(terminal):
        assert write_plain(TITLES, widths, ROWS, show_header=True, pipe_width=400) is False
    assert terminal.getvalue() == ""


def test_a_wide_enough_terminal_is_written_without_rich(terminal: _Terminal) -> None:
    with redirect_stdout(terminal):
        assert write_plain(TITLES, _widths(TITLES, ROWS), ROWS, show_header=True, pipe_width=40)
    assert terminal.getvalue().startswith("\x1b[1mName")


@pytest.mark.parametrize(
    "message",
    [
        "No compute targets: attach one with `modelport target attach kubernetes -n NAME`.",
        "Stopped 2 replicas (digits-svc:1, digits-svc:2) [kept running].",
        "a :smile: here",  # an emoji code: Rich's
        "caf\u00e9 \u2192 ok",  # not ASCII: Rich's
    ],
)
def test_a_note_on_stderr_is_what_rich_prints(
    message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _output.info(message)
    ours = capsys.readouterr().err
    buf = io.StringIO()
    Console(file=buf, highlight=False, soft_wrap=True).print(message, markup=False)
    assert ours == buf.getvalue()
