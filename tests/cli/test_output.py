"""Output rendering: every format of one result and of a paged stream (in-process, no server)."""

from __future__ import annotations

import json

import pytest
import yaml

from modelport.cli import _output
from modelport.cli._options import CommonOptions, OutputFormat, parse_filters, parse_pairs
from modelport.errors import UserError

ITEMS = [{"name": f"m{i}", "id": f"m{i}:1", "version": 1, "tags": {"k": str(i)}} for i in range(3)]


def _opts(fmt: str, query: str | None = None) -> CommonOptions:
    return CommonOptions(output=OutputFormat(fmt), query=query)


@pytest.mark.parametrize("items", [[], ITEMS[:1], ITEMS])
def test_streamed_json_is_the_same_document_as_the_whole_list(
    items: list[dict[str, object]], capsys: pytest.CaptureFixture[str]
) -> None:
    _output.render_items(iter(items), _opts("json"))
    out = capsys.readouterr().out
    assert json.loads(out) == items
    assert out == json.dumps(items, indent=2) + "\n"


def test_streamed_yaml_and_tsv(capsys: pytest.CaptureFixture[str]) -> None:
    _output.render_items(iter(ITEMS), _opts("yaml"))
    assert yaml.safe_load(capsys.readouterr().out) == ITEMS
    _output.render_items(iter([]), _opts("yaml"))
    assert yaml.safe_load(capsys.readouterr().out) == []
    _output.render_items(iter(ITEMS), _opts("tsv"))
    assert capsys.readouterr().out.splitlines() == ["m0\tm0:1\t1", "m1\tm1:1\t1", "m2\tm2:1\t1"]


def test_query_applies_to_the_whole_list(capsys: pytest.CaptureFixture[str]) -> None:
    _output.render_items(iter(ITEMS), _opts("json", "[?tags.k=='1'].id"))
    assert json.loads(capsys.readouterr().out) == ["m1:1"]
    _output.render({"a": {"b": 5}}, _opts("tsv", "a.b"))
    assert capsys.readouterr().out == "5\n"
    with pytest.raises(UserError, match="Invalid --query"):
        _output.render(ITEMS, _opts("json", "[?"))


def test_table_pages_share_one_header_and_aligned_columns(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(_output, "TABLE_PAGE", 2)
    rows = [{"name": "n" * (5 - i), "id": f"id{i}"} for i in range(5)]
    _output.render_items(iter(rows), _opts("table"), columns=["name", "id"])
    lines = [
        line
        for line in capsys.readouterr().out.splitlines()
        if line.strip() and set(line.strip()) != {"─"}
    ]
    assert lines[0].split() == ["Name", "Id"]
    body = lines[1:]
    assert len(body) == 5
    assert (
        len({line.index("id") for line in body}) == 1
    )  # the Id column starts at one offset on every page


def test_table_of_one_object_is_key_value(capsys: pytest.CaptureFixture[str]) -> None:
    _output.render(
        {"id": "m:1", "tags": {"a": "1", "b": "2"}, "missing": None, "flag": True}, _opts("table")
    )
    out = capsys.readouterr().out
    assert "m:1" in out and "a=1, b=2" in out and "true" in out


def test_none_prints_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    _output.render(ITEMS, _opts("none"))
    _output.render_items(iter(ITEMS), _opts("none"))
    assert capsys.readouterr().out == ""


def test_key_value_option_parsing() -> None:
    assert parse_pairs(["a=1", "b=x=y", "c="], "--tag") == {"a": "1", "b": "x=y", "c": ""}
    with pytest.raises(UserError, match="key=value"):
        parse_pairs(["novalue"], "--tag")
    assert parse_filters(["a", "b=2"]) == ["a", ["b", "2"]]
    assert parse_filters(None) is None


def test_transfer_progress_bar_accepts_a_whole_transfer() -> None:
    from modelport.cli._progress import RichTransferProgress

    bar = RichTransferProgress()
    bar.start("upload model.pkl", 10)
    bar.advance(4)
    bar.advance(6)
    bar.start("upload next.bin", 0)  # unknown size; starting again closes the previous bar
    bar.advance(3)
    bar.stop()
    bar.stop()


def test_tsv_of_a_list_query_on_one_object_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    model = {"name": "m", "version": 2, "tags": {"k": "v"}}
    _output.render(model, _opts("tsv", "[name, version]"))
    assert capsys.readouterr().out == "m\t2\n"  # as az prints it: read -r name version works
    _output.render(ITEMS, _opts("tsv", "[].id"))  # a list command's items stay one per line
    assert capsys.readouterr().out.splitlines() == ["m0:1", "m1:1", "m2:1"]
    _output.render_items(iter(ITEMS), _opts("tsv", "[].[name, version]"))
    assert capsys.readouterr().out.splitlines() == ["m0\t1", "m1\t1", "m2\t1"]


def test_sdk_and_api_wording_becomes_cli_flags_and_commands() -> None:
    from modelport.cli._wording import for_cli

    argv = ["service", "run", "-n", "digits-svc", "-d", "{}"]
    cases = {
        "File already exists. To overwrite, set exist_ok to True. (/tmp/m.pkl)": (
            "/tmp/m.pkl already exists; add --overwrite to replace it."
        ),
        "Received bad response from service. More information can be found by calling "
        ".get_logs() on the webservice object.": "Received bad response from service. Run "
        "`modelport service get-logs -n digits-svc` for the service's log.",
        "Conflict: operation 1 (Deploy) is in progress on service digits-svc; wait for it to "
        "finish (GET operations/{id}) and retry.": "Conflict: operation 1 (Deploy) is in "
        "progress on service digits-svc; wait for it to finish (`modelport service show -n "
        "digits-svc` shows it) and retry.",
        "keyValue must be a string of at least 8 characters": (
            "--set-key must be a string of at least 8 characters"
        ),
        "Invalid value for '--output': Value error, 'x' is not one of 'json'": (
            "Invalid value for '--output': 'x' is not one of 'json'"
        ),
    }
    for sdk, cli in cases.items():
        assert for_cli(sdk, argv) == cli
    for leak in ("exist_ok", ".get_logs()", "GET operations", "keyValue", "Value error"):
        assert all(leak not in for_cli(sdk, argv) for sdk in cases)
