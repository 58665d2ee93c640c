"""Fixtures of the SDK/CLI deployment tests: one server per module sharing the built-environment
cache, the digits model and entry script, and the one environment every test reuses."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import joblib
import pytest
import sklearn

from modelport import InferenceConfig, Model, Workspace
from tests.conftest import ServerProcess, start_server
from tests.e2e.deploy_support import DIGITS_SCORE, ENV_CACHE, digits_model, kill_leftovers

# The environment of the main job (examples/digits/main.py): same packages, so the same build.
DIGITS_PACKAGES = [f"scikit-learn=={sklearn.__version__}", f"joblib=={joblib.__version__}"]
ECHO_SCORE = """
def init():
    pass

def run(raw):
    return {"echo": raw, "version": "VERSION"}
"""


def digits_environment() -> dict[str, Any]:
    return {
        "name": "digits-env",
        "python": {"condaDependencies": {"dependencies": [{"pip": DIGITS_PACKAGES}]}},
    }


def minimal_environment() -> dict[str, Any]:
    return {"name": "AzureML-Minimal", "version": None}


def link_env_cache(home: Path) -> None:
    """Point ``home/environments`` at the shared cache so each environment builds once."""
    home.mkdir(parents=True, exist_ok=True)
    ENV_CACHE.mkdir(parents=True, exist_ok=True)
    link = home / "environments"
    if not link.exists():
        link.symlink_to(ENV_CACHE, target_is_directory=True)


@pytest.fixture(scope="module")
def deploy_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    home = tmp_path_factory.mktemp("deploy-home")
    link_env_cache(home)
    server = start_server(home)
    yield server
    server.stop()
    kill_leftovers(home)  # only replicas a failed test left behind


@pytest.fixture(scope="module")
def ws(deploy_server: ServerProcess) -> Workspace:
    return Workspace.get("default", server_url=deploy_server.url, token=deploy_server.token)


@pytest.fixture(scope="module")
def digits(ws: Workspace, tmp_path_factory: pytest.TempPathFactory) -> Model:
    path = tmp_path_factory.mktemp("model") / "digits.pkl"
    path.write_bytes(digits_model())
    return Model.register(ws, str(path), "digits", model_framework=Model.Framework.SCIKITLEARN)


def write_source(folder: Path, script: str, name: str = "score.py") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(script)
    return folder


def digits_config(folder: Path) -> InferenceConfig:
    write_source(folder, DIGITS_SCORE)
    return InferenceConfig(
        entry_script="score.py", source_directory=str(folder), environment=digits_environment()
    )


def echo_config(folder: Path, version: str) -> InferenceConfig:
    write_source(folder, ECHO_SCORE.replace("VERSION", version))
    return InferenceConfig(
        entry_script="score.py", source_directory=str(folder), environment=minimal_environment()
    )


def cli(
    server: ServerProcess, args: list[str], cwd: Path, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run ``modelport ARGS`` against ``server`` as a real process (stderr is not a terminal)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELPORT_")}
    env |= server.env | {"COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "modelport.cli.main", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
