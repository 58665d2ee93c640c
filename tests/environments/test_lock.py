import sys
from pathlib import Path

import pytest

from modelport.environments import EnvironmentBuildError, EnvironmentSpec, ensure_built
from modelport.environments.interpreters import Interpreter, available, current, select
from modelport.environments.lock import Requirements, explain_failure, split_requirements
from modelport.errors import UserError

PY = Interpreter(Path("/usr/bin/python3.11"), (3, 11, 7))
REQS = Requirements(
    user=("six", "numpy==1.19.5", "orjson==3.0"),
    runtime=("httptools>=0.6", "orjson>=3.10"),
    skipped=(),
)

# Resolver failures as uv prints them (captured from uv 0.13).
NO_WHEELS = """error: No solution found when resolving dependencies
  cause: Because numpy==1.19.5 has no usable wheels and you require numpy==1.19.5, we can conclude that your requirements are unsatisfiable.

hint: Wheels are required for `numpy` because building from source is disabled for all packages (i.e., with `--no-build`)
"""
ABI = """error: No solution found when resolving dependencies
  cause: Because numpy==1.19.5 has no wheels with a matching Python ABI tag (e.g., `cp311`) and you require numpy==1.19.5, we can conclude that your requirements are unsatisfiable.
"""
NO_VERSION = """error: No solution found when resolving dependencies
  cause: Because there is no version of numpy==1.19.5 and you require numpy==1.19.5, we can conclude that your requirements are unsatisfiable.
"""
REQUIRES_PYTHON = """  \u00d7 No solution found when resolving dependencies:
  \u2570\u2500\u25b6 Because the current Python version (3.11.7) does not satisfy Python>=3.12 and numpy==1.19.5 depends on Python>=3.12, we can conclude that numpy==1.19.5 cannot be used.
"""
CONFLICT = """error: No solution found when resolving dependencies
  cause: Because you require orjson==3.0 and orjson>=3.10, we can conclude that your requirements are unsatisfiable.
"""


@pytest.mark.parametrize(
    ("output", "reason"),
    [
        (NO_WHEELS, "no release file of it installs on this interpreter"),
        (ABI, "modelport installs wheels only"),
        (NO_VERSION, "that version does not exist"),
        (REQUIRES_PYTHON, "it requires Python>=3.12"),
    ],
)
def test_resolver_failures_become_one_sentence_naming_package_and_interpreter(output, reason):
    message = explain_failure(output, REQS, PY)
    assert message.startswith(
        "Cannot install numpy==1.19.5 on Python 3.11.7 (/usr/bin/python3.11): "
    )
    assert reason in message
    assert "\n" not in message and "unsatisfiable" not in message


def test_a_failing_dependency_names_the_requested_package():
    output = (
        "error: No solution found when resolving dependencies\n"
        "  cause: Because wrapt==1.11.1 has no usable wheels and inference-schema==1.0.0 depends on "
        "wrapt==1.11.1, we can conclude that inference-schema==1.0.0 cannot be used.\n"
        "         And because you require inference-schema==1.0.0, we can conclude that your "
        "requirements are unsatisfiable.\n"
    )
    reqs = Requirements(user=("inference-schema[numpy-support]==1.0.0",), runtime=(), skipped=())
    message = explain_failure(output, reqs, PY)
    assert message.startswith(
        "Cannot install inference-schema[numpy-support]==1.0.0 on Python 3.11.7 (/usr/bin/python3.11): "
        "its dependency wrapt==1.11.1 cannot be installed (no release file"
    )


def test_conflict_with_the_serving_runtime_says_so():
    message = explain_failure(CONFLICT, REQS, PY)
    assert "Cannot install orjson==3.0" in message
    assert "the serving runtime's orjson>=3.10" in message


def test_unrecognized_failure_still_names_a_requested_package():
    message = explain_failure("error: something new about six happened\n", REQS, PY)
    assert message.startswith("Cannot install six on Python 3.11.7")


def test_azureml_entries_are_dropped_with_a_log_line():
    lines: list[str] = []
    reqs = split_requirements(
        [
            "azureml-defaults",
            "azureml_core==1.30",
            "AzureML-Monitoring",
            "azure-storage-blob",
            "six",
        ],
        lines.append,
    )
    assert reqs.user == ("azure-storage-blob", "six")
    assert reqs.skipped == ("azureml-defaults", "azureml_core==1.30", "AzureML-Monitoring")
    assert len(lines) == 3 and all("not installed" in line for line in lines)
    assert any(r.startswith("httptools") for r in reqs.runtime)


def test_invalid_requirement_is_a_user_error():
    with pytest.raises(UserError, match="Invalid pip requirement 'six=='"):
        split_requirements(["six=="], print)


def test_python_pins():
    lines: list[str] = []
    cur = current()
    assert select(None, lines.append) == cur
    assert select(f"{cur.version[0]}.{cur.version[1]}", lines.append).version[:2] == cur.version[:2]
    assert lines == []
    assert select("3.6", lines.append).version[:2] >= (3, 11)
    assert "WARNING" in lines[0] and "closest available" in lines[0]
    assert cur in available()
    with pytest.raises(UserError, match=r"python=3\.99.*not installed here"):
        select("3.99", lines.append)
    lines.clear()
    assert select(str(cur.version[0]), lines.append) == cur  # major only
    assert select(">=3.8", lines.append) == cur  # a range the current one satisfies
    assert lines == []
    assert select(">=3.7,<3.9", lines.append).version[:2] >= (3, 11)
    assert "pins python>=3.7,<3.9" in lines[0] and "closest available" in lines[0]
    with pytest.raises(UserError, match=r"python>=3\.99"):
        select(">=3.99", lines.append)


def test_user_managed_interpreter_is_used_as_is():
    spec = EnvironmentSpec(
        name="mine", user_managed_dependencies=True, interpreter_path=sys.executable
    )
    lines: list[str] = []
    built = ensure_built(spec, Path("/nonexistent-cache"), lines.append)
    assert built.python == Path(sys.executable)
    assert built.user_managed and built.reused and built.lock == ""
    assert any("as is" in line for line in lines)


def test_user_managed_interpreter_that_is_missing_is_a_clear_error():
    spec = EnvironmentSpec(
        name="mine", user_managed_dependencies=True, interpreter_path="/no/such/python"
    )
    with pytest.raises(EnvironmentBuildError, match="'/no/such/python' is not an executable"):
        ensure_built(spec, Path("/nonexistent-cache"), print)


def test_user_managed_interpreter_without_the_runtime_is_a_clear_error(tmp_path):
    bare = tmp_path / "python"
    bare.write_text(
        "#!/bin/sh\necho \"ModuleNotFoundError: No module named 'modelport'\" >&2\nexit 1\n"
    )
    bare.chmod(0o755)
    spec = EnvironmentSpec(name="mine", user_managed_dependencies=True, interpreter_path=str(bare))
    with pytest.raises(
        EnvironmentBuildError,
        match=r"cannot import modelport's serving runtime.*modelport\[serving\]",
    ):
        ensure_built(spec, tmp_path, print)
