"""Deploy settings are server settings: flag, environment, HOME/deploy.json, default — and a
settings file that cannot be used stops the server naming the file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from modelport.errors import ModelportError
from modelport.server.main import parse_args
from modelport.server.settings import SETTINGS, resolve


@pytest.fixture(autouse=True)
def _no_settings_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for s in SETTINGS:
        monkeypatch.delenv(s.env, raising=False)


def test_settings_file_fills_what_flags_and_environment_leave(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "deploy.json").write_text(
        '{"startupTimeoutSeconds": 20, "schedulingTimeoutSeconds": 4}'
    )
    s = parse_args(["--home", str(tmp_path)])
    assert (s.startup_timeout, s.scheduling_timeout) == (20.0, 4.0)
    assert s.reconcile_interval == 1.0 and s.env_cache_dir == tmp_path / "environments"
    monkeypatch.setenv("MODELPORT_STARTUP_TIMEOUT", "30")
    monkeypatch.setenv("MODELPORT_ENV_CACHE", str(tmp_path / "cache"))
    s = parse_args(["--home", str(tmp_path), "--scheduling-timeout", "5"])
    assert (s.startup_timeout, s.scheduling_timeout) == (30.0, 5.0)
    assert s.env_cache_dir == tmp_path / "cache"


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{not json", "is not valid JSON"),
        ("[1]", "must hold a JSON object"),
        ('{"startupTimeout": 3}', "unknown key(s) startupTimeout"),
        ('{"startupTimeoutSeconds": "soon"}', "startupTimeoutSeconds in"),
    ],
)
def test_a_settings_file_that_cannot_be_used_is_an_error_naming_it(
    tmp_path: Path, content: str, problem: str
) -> None:
    path = tmp_path / "deploy.json"
    path.write_text(content)
    with pytest.raises(ModelportError) as caught:
        resolve({"home": str(tmp_path)})
    assert problem in str(caught.value) and str(path) in str(caught.value)


def test_the_server_refuses_to_start_with_a_malformed_settings_file(tmp_path: Path) -> None:
    (tmp_path / "deploy.json").write_text("{oops")
    result = subprocess.run(
        [sys.executable, "-m", "modelport.server", "--home", str(tmp_path), "--port", "0"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode != 0
    assert f"the settings file {tmp_path / 'deploy.json'} is not valid JSON" in result.stderr
    assert "Traceback" not in result.stderr


def test_prebuild_environments_takes_curated_names_only(tmp_path: Path) -> None:
    s = resolve(
        {"home": str(tmp_path), "prebuild_environments": "AzureML-Minimal, azureml-minimal"}
    )
    assert s.prebuild_environments == ("AzureML-Minimal", "azureml-minimal")
    assert resolve({"home": str(tmp_path)}).prebuild_environments is None
    with pytest.raises(ModelportError, match=r"--prebuild-environments .*not curated: my-env"):
        resolve({"home": str(tmp_path), "prebuild_environments": "my-env"})
