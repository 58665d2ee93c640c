"""ParallelRunConfig / ParallelRunStep: v1's defaults and validation (reference spec 5.1)."""

from __future__ import annotations

import pytest

from modelport.errors import UserError
from modelport.parallel_run.config import ParallelRunConfig, ParallelRunStep, parse_size


def test_defaults_follow_v1() -> None:
    c = ParallelRunConfig(entry_script="score.py", error_threshold=10, output_action="append_row")
    assert c.append_row_file_name == "parallel_run_step.txt"
    assert (c.process_count_per_node, c.node_count, c.logging_level) == (1, 1, "INFO")
    assert (c.run_invocation_timeout, c.run_max_try) == (60, 3)
    assert (c.batch_size_for(tabular=False), c.batch_size_for(tabular=True)) == (10, 1024**2)


def test_sizes() -> None:
    assert [parse_size(v) for v in (1024, "1024KB", "10MB", "1GB")] == [
        1024, 1024**2, 10 * 1024**2, 1024**3,
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("error_threshold", -2, "error_threshold must be an integer in [-1"),
        ("output_action", "append", "output_action must be one of append_row, summary_only"),
        ("mini_batch_size", "10 parsecs", "is not a size"),
        ("mini_batch_size", 0, "at least 1"),
        ("logging_level", "LOUD", "logging_level must be one of"),
        ("run_max_try", 0, "run_max_try must be"),
        ("process_count_per_node", 0, "process_count_per_node must be"),
    ],
)
def test_bad_values_name_the_field(field: str, value: object, message: str) -> None:
    args: dict[str, object] = {"entry_script": "s.py", "error_threshold": 1,
                               "output_action": "append_row", field: value}  # fmt: skip
    with pytest.raises(UserError, match=message.replace("[", r"\[")):
        ParallelRunConfig(**args)  # type: ignore[arg-type]


def test_step_name_rules() -> None:
    c = ParallelRunConfig(entry_script="s.py", error_threshold=1, output_action="append_row")
    ParallelRunStep(name="score-digits", parallel_run_config=c, inputs=["in"])
    for bad in ("ab", "Score", "score-", "9score", "x" * 33):
        with pytest.raises(UserError, match="step name"):
            ParallelRunStep(name=bad, parallel_run_config=c, inputs=["in"])
