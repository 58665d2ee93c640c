"""Old v1 pins: every pin that cannot install on the interpreter is reported at once with the
nearest version that can; the opt-in relax uses those versions and the log lists each change.
Real uv resolutions against the package index (no environment is installed)."""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.version import Version

from modelport.environments import EnvironmentSpec, ensure_built, pins
from modelport.environments.interpreters import current
from modelport.environments.lock import EnvironmentBuildError, Requirements, compile_lock
from modelport.environments.runtime import serving_requirements

pytestmark = pytest.mark.envbuild

# the pins of real v1 conda files (python=3.7 picks the closest interpreter, tested elsewhere)
V1_PINS = ("numpy==1.19.5", "scikit-learn==0.24.1", "joblib==1.2.0")


def _reqs(user: tuple[str, ...]) -> Requirements:
    return Requirements(user=user, runtime=tuple(serving_requirements()), skipped=())


def test_every_unsatisfiable_pin_is_named_at_once_with_its_nearest_version() -> None:
    lines: list[str] = []
    with pytest.raises(EnvironmentBuildError) as err:
        compile_lock(_reqs(V1_PINS), current(), lines.append)
    message = str(err.value)
    assert message.startswith(
        f"2 pinned package(s) cannot install on Python {current().version_str}"
    )
    problems = pins.unsatisfiable(V1_PINS, current(), lines.append)
    assert [p.name for p in problems] == ["numpy", "scikit-learn"]  # joblib 1.2.0 installs
    for problem, pinned in zip(problems, ("1.19.5", "0.24.1"), strict=True):
        assert problem.nearest is not None and Version(problem.nearest) > Version(pinned)
        assert f"{problem.line} (nearest that installs: {problem.nearest})" in message
    assert "MODELPORT_RELAX_PINS=true" in message


def test_relaxing_uses_the_nearest_versions_and_logs_each_change() -> None:
    lines: list[str] = []
    lock = compile_lock(_reqs(V1_PINS), current(), lines.append, relax_pins=True)
    relaxed = [line for line in lines if line.startswith("Relaxed pin")]
    assert len(relaxed) == 2
    assert relaxed[0].startswith("Relaxed pin (MODELPORT_RELAX_PINS): numpy==1.19.5 -> numpy==")
    numpy = next(row for row in lock.splitlines() if row.startswith("numpy=="))
    assert relaxed[0].endswith(numpy)
    assert "joblib==1.2.0" in lock  # a pin that installs is kept as written


def test_relax_is_opt_in() -> None:
    assert not pins.relax_requested({})
    assert pins.relax_requested({"MODELPORT_RELAX_PINS": "true"})


def test_a_v1_conda_environment_fails_once_naming_every_old_pin(tmp_path: Path) -> None:
    # the shape of a real v1 scoring environment: python 3.7, conda and pip pins, azureml-defaults
    spec = EnvironmentSpec(
        name="v1-scoring",
        python_version="3.7",
        conda_packages=("numpy=1.19.5",),
        pip_packages=("azureml-defaults==1.6.*", "scikit-learn==0.24.1", "joblib==1.2.0"),
    )
    lines: list[str] = []
    with pytest.raises(EnvironmentBuildError) as err:
        ensure_built(spec, tmp_path, lines.append)
    message = str(err.value)
    assert "2 pinned package(s) cannot install" in message
    assert "numpy==1.19.5 (nearest that installs: " in message
    assert "scikit-learn==0.24.1 (nearest that installs: " in message
    log = "\n".join(lines)
    assert "pins python=3.7, which is not available here" in log
    assert "azureml-defaults==1.6.*: satisfied by modelport's azureml compatibility layer" in log
