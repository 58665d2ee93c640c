"""The v1 import table in docs/v1-imports.md is generated from the shims' own table."""

from __future__ import annotations

from pathlib import Path

from modelport.compat.v1_names import markdown_table

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_v1_import_table_matches_the_shims() -> None:
    text = (DOCS / "v1-imports.md").read_text()
    start = text.index("-->\n", text.index("<!-- v1-imports-table")) + 4
    end = text.index("<!-- /v1-imports-table -->")
    assert text[start:end].strip() == markdown_table(), (
        "regenerate docs/v1-imports.md's table with modelport.compat.v1_names.markdown_table()"
    )


def test_differences_page_lists_the_scoring_timeout() -> None:
    text = (DOCS / "azmlinfsrv-differences.md").read_text()
    assert "504" in text and "SO_REUSEPORT" in text
