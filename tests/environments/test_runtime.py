import tomllib
from pathlib import Path

import modelport
from modelport.environments import runtime


def test_serving_requirements_come_from_the_serving_extra():
    pyproject = Path(modelport.__file__).resolve().parents[2] / "pyproject.toml"
    extra = tomllib.loads(pyproject.read_text())["project"]["optional-dependencies"]["serving"]
    assert runtime.serving_requirements() == extra


def test_snapshot_is_content_addressed_and_leaves_out_the_control_plane(tmp_path):
    first = runtime.snapshot(tmp_path)
    again = runtime.snapshot(tmp_path)
    assert first == again
    assert first.fingerprint == runtime.fingerprint()
    pkg = first.root / "modelport"
    assert (pkg / "__init__.py").read_bytes() == Path(modelport.__file__).read_bytes()
    assert (pkg / "serving").is_dir()
    for control in ("server", "cli", "sdk", "targets", "environments"):
        assert not (pkg / control).exists()
    assert not list(pkg.rglob("__pycache__"))
    assert [p.name for p in tmp_path.joinpath("runtime").iterdir()] == [first.root.name]
