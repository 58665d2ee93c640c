"""ParallelRunConfig / ParallelRunStep: v1's defaults and validation (reference spec 5.1)."""

from __future__ import annotations

from typing import Any

import pytest

from modelport.errors import UserError
from modelport.parallel_run.config import ParallelRunConfig, ParallelRunStep, parse_size
from modelport.parallel_run.parameters import PipelineParameter, bind
from modelport.parallel_run.pipeline import Pipeline


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


def _step(config: ParallelRunConfig, arguments: list[object] | None = None) -> ParallelRunStep:
    return ParallelRunStep(name="step-one", parallel_run_config=config, inputs=["data.csv"],
                           arguments=arguments or [])  # fmt: skip


def test_pipeline_parameters_take_their_default_or_the_submitted_value() -> None:
    size = PipelineParameter("batch_size", "4KB")
    c = ParallelRunConfig(entry_script="s.py", output_action="append_row", mini_batch_size=size,
                          error_threshold=PipelineParameter("errors", 5))  # fmt: skip
    assert [p.name for p in c.parameters()] == ["errors", "batch_size"]
    default = c.resolved({})
    assert (default.batch_size_for(tabular=True), default.error_threshold) == (4096, 5)
    assert default.append_row_file_name == "parallel_run_step.txt"  # validated like any other
    given = c.resolved({"batch_size": "2KB", "errors": -1})
    assert (given.batch_size_for(tabular=True), given.error_threshold) == (2048, -1)


def test_a_pipeline_parameter_default_the_field_cannot_take_is_refused_at_once() -> None:
    with pytest.raises(UserError, match="error_threshold must be an integer"):
        ParallelRunConfig(entry_script="s.py", output_action="append_row",
                          error_threshold=PipelineParameter("errors", "ten"))  # fmt: skip
    with pytest.raises(UserError, match="needs a default_value"):
        PipelineParameter("errors", None)


def test_submitted_values_are_checked_before_a_run_starts() -> None:
    config = ParallelRunConfig(entry_script="s.py", error_threshold=1, output_action="append_row",
                               mini_batch_size=PipelineParameter("batch_size", "4KB"))  # fmt: skip
    pipeline = Pipeline(workspace=None, steps=[_step(config, ["--t", PipelineParameter("t", 1)])])
    no_experiment: Any = None  # each check fails before a run would be started in one
    with pytest.raises(
        UserError, match=r"'nope', which no step uses \(the pipeline's parameters: batch_size, t\)"
    ):
        pipeline._submit(no_experiment, {"nope": 1})
    with pytest.raises(UserError, match="is not a size"):
        pipeline._submit(no_experiment, {"batch_size": "lots"})
    clash = [_step(config, [PipelineParameter("batch_size", "1MB")])]
    with pytest.raises(UserError, match="declared twice with different defaults"):
        Pipeline(workspace=None, steps=clash)._submit(no_experiment, None)
    assert bind([PipelineParameter("t", 1)], {"t": 2}) == {"t": 2}
