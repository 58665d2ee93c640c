"""v1's ``PipelineParameter``: a value of a pipeline chosen when it is submitted.

A step's ``arguments`` and the ``ParallelRunConfig`` fields v1 allowed (``mini_batch_size``,
``error_threshold``, ``process_count_per_node``, ``node_count``, ``run_invocation_timeout``,
``run_max_try``, ``logging_level``) may hold one; ``Experiment.submit(pipeline,
pipeline_parameters={"name": value})`` picks the values, the others keep their ``default_value``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from modelport.errors import UserError


class PipelineParameter:
    """A named value of a pipeline, ``default_value`` unless the submission gives another."""

    def __init__(self, name: str, default_value: Any) -> None:
        if not isinstance(name, str) or not name.strip():
            raise UserError("a PipelineParameter needs a name")
        if default_value is None:
            raise UserError(f"PipelineParameter {name!r} needs a default_value")
        self.name = name
        self.default_value = default_value

    def __repr__(self) -> str:
        return f"PipelineParameter(name={self.name!r}, default_value={self.default_value!r})"


def resolve(value: Any, values: Mapping[str, Any]) -> Any:
    """``value`` itself, or the submitted value (else the default) of the parameter it is."""
    if isinstance(value, PipelineParameter):
        return values.get(value.name, value.default_value)
    return value


def bind(found: Iterable[PipelineParameter], given: Mapping[str, Any] | None) -> dict[str, Any]:
    """The submitted values, checked against the parameters the pipeline uses: an unknown name,
    or one name declared twice with different defaults, is the submitter's error."""
    declared: dict[str, PipelineParameter] = {}
    for p in found:
        seen = declared.setdefault(p.name, p)
        if seen is not p and seen.default_value != p.default_value:
            raise UserError(
                f"PipelineParameter {p.name!r} is declared twice with different defaults "
                f"({seen.default_value!r}, {p.default_value!r})"
            )
    values = dict(given or {})
    unknown = sorted(set(values) - set(declared))
    if unknown:
        known = ", ".join(sorted(declared)) or "none"
        raise UserError(
            f"pipeline_parameters names {', '.join(map(repr, unknown))}, which no step uses "
            f"(the pipeline's parameters: {known})"
        )
    return values
