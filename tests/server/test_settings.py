"""Every server setting is documented, and flags/environment variables reach the settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelport.server.home import default_home
from modelport.server.main import parse_args
from modelport.server.settings import SETTINGS

DOC = Path(__file__).parents[2] / "docs" / "server.md"


def test_every_setting_is_documented() -> None:
    text = DOC.read_text()
    for s in SETTINGS:
        row = f"| {s.name} | `{s.flag}` | `{s.env}` |"
        assert row in text, f"docs/server.md lacks the row for {s.name}: {row}"


def test_flags_win_over_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MODELPORT_HOME", str(tmp_path / "env-home"))
    monkeypatch.setenv("MODELPORT_PORT", "1234")
    monkeypatch.setenv("MODELPORT_DATABASE_URL", "postgresql://u@h/db")
    s = parse_args(["--port", "4321"])
    assert s.home == tmp_path / "env-home" and s.port == 4321
    assert s.resolved_database_url == "postgresql+psycopg://u@h/db"
    assert s.artifacts_dir == tmp_path / "env-home" / "artifacts"


def test_defaults_are_local_only(monkeypatch: pytest.MonkeyPatch) -> None:
    for s in SETTINGS:
        monkeypatch.delenv(s.env, raising=False)
    settings = parse_args([])
    assert settings.host == "127.0.0.1" and settings.port == 0
    assert settings.resolved_database_url.startswith("sqlite:///")
    # ~/.modelport; root: /var/lib/modelport unless ~/.modelport exists (test_default_home.py)
    assert settings.home == default_home()
