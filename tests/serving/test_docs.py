"""docs/serving.md cannot drift from the settings declared in code."""

from __future__ import annotations

from pathlib import Path

from modelport.serving.__main__ import build_parser
from modelport.serving.settings import SETTINGS, markdown_table

DOC = Path(__file__).resolve().parents[2] / "docs" / "serving.md"


def test_settings_table_in_docs_is_generated_from_code() -> None:
    text = DOC.read_text()
    start = text.index("-->\n", text.index("<!-- settings-table")) + 4
    end = text.index("<!-- /settings-table -->")
    assert text[start:end].strip() == markdown_table(), (
        "regenerate with modelport.serving.settings.markdown_table()"
    )


def test_every_setting_has_a_flag_or_env_and_help() -> None:
    help_text = build_parser().format_help()
    for s in SETTINGS:
        assert s.help and s.env
        if s.flag:
            assert s.flag in help_text
