"""``ParallelRunConfig`` and ``ParallelRunStep``: v1's batch contract (reference spec 5.1), validated."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from modelport.errors import UserError
from modelport.parallel_run.parameters import PipelineParameter, resolve

OUTPUT_ACTIONS = ("append_row", "summary_only")
LOGGING_LEVELS = ("WARNING", "INFO", "DEBUG")
INT_MAX = 2**31 - 1
_STEP_NAME = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_SIZE = re.compile(r"^\s*(\d+)\s*(KB|MB|GB)?\s*$", re.IGNORECASE)
_UNITS = {None: 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3}


def parse_size(value: int | str) -> int:
    """``1024``, ``"1024KB"``, ``"10MB"``, ``"1GB"`` -> bytes (v1's tabular mini_batch_size)."""
    m = _SIZE.match(str(value))
    if not m or int(m.group(1)) < 1:
        raise UserError(
            f"mini_batch_size {value!r} is not a size: use a positive number with an optional "
            "unit KB, MB or GB (e.g. 1MB)"
        )
    unit = m.group(2).upper() if m.group(2) else None
    return int(m.group(1)) * _UNITS[unit]


def parse_count(value: int | str) -> int:
    """File input: ``mini_batch_size`` is a number of files, at least 1."""
    try:
        n = int(str(value).strip())
    except ValueError:
        raise UserError(
            f"mini_batch_size {value!r} must be a number of files for file input (e.g. 10)"
        ) from None
    if n < 1:
        raise UserError(f"mini_batch_size must be at least 1 for file input, not {n}")
    return n


def _int_in(name: str, value: Any, low: int, high: int = INT_MAX) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise UserError(f"{name} must be an integer in [{low}, {high}], not {value!r}")
    return value


@dataclass
class ParallelRunConfig:
    """How a batch step runs: the script, mini-batch size, failure budget and parallelism."""

    entry_script: str
    error_threshold: int
    output_action: str
    environment: Any = None
    compute_target: Any = None
    source_directory: str | None = None
    mini_batch_size: int | str | None = None
    append_row_file_name: str | None = None
    process_count_per_node: int | None = None
    node_count: int = 1
    logging_level: str = "INFO"
    run_invocation_timeout: int = 60
    run_max_try: int = 3
    description: str | None = None

    def __post_init__(self) -> None:
        if self.parameters():
            self.resolved({})  # the defaults must be values the fields take; checked per run
            return
        if not self.entry_script or not str(self.entry_script).strip():
            raise UserError("entry_script is required")
        _int_in("error_threshold", self.error_threshold, -1)
        if self.output_action not in OUTPUT_ACTIONS:
            raise UserError(
                f"output_action must be one of {', '.join(OUTPUT_ACTIONS)}, "
                f"not {self.output_action!r}"
            )
        if self.mini_batch_size is not None:
            value = self.mini_batch_size
            if isinstance(value, bool) or not isinstance(value, int | str):
                raise UserError(f"mini_batch_size must be an integer or a size string: {value!r}")
            if isinstance(value, str):
                parse_size(value)
            elif value < 1:
                raise UserError(f"mini_batch_size must be at least 1, not {value}")
        if self.append_row_file_name is None:
            self.append_row_file_name = "parallel_run_step.txt"
        if "/" in self.append_row_file_name or self.append_row_file_name in ("", ".", ".."):
            raise UserError(
                f"append_row_file_name must be a plain file name: {self.append_row_file_name!r}"
            )
        if self.process_count_per_node is None:
            self.process_count_per_node = 1
        _int_in("process_count_per_node", self.process_count_per_node, 1, 1024)
        _int_in("node_count", self.node_count, 1, 1024)
        self.logging_level = str(self.logging_level).upper()
        if self.logging_level not in LOGGING_LEVELS:
            raise UserError(f"logging_level must be one of {', '.join(LOGGING_LEVELS)}")
        _int_in("run_invocation_timeout", self.run_invocation_timeout, 1)
        _int_in("run_max_try", self.run_max_try, 1, 1000)

    def parameters(self) -> list[PipelineParameter]:
        """The PipelineParameters among the fields (v1 allowed them in the tunable ones)."""
        return [p for _, p in self._parameter_fields()]

    def resolved(self, values: Mapping[str, Any]) -> ParallelRunConfig:
        """This config with its PipelineParameters replaced by ``values`` (else their defaults),
        validated like any other."""
        changes = {name: resolve(p, values) for name, p in self._parameter_fields()}
        return dataclasses.replace(self, **changes) if changes else self

    def _parameter_fields(self) -> Iterator[tuple[str, PipelineParameter]]:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, PipelineParameter):
                yield f.name, value

    def batch_size_for(self, tabular: bool) -> int:
        """Files per mini-batch (default 10) or bytes per mini-batch (default 1MB)."""
        value = self.mini_batch_size
        if tabular:
            return parse_size(value if value is not None else "1MB")
        return parse_count(value if value is not None else 10)


@dataclass
class ParallelRunStep:
    """One batch step of a pipeline: a config, its inputs, an output folder, script arguments."""

    name: str
    parallel_run_config: ParallelRunConfig
    inputs: Sequence[Any]
    output: Any = None
    side_inputs: Sequence[Any] = field(default_factory=list)
    arguments: Sequence[Any] = field(default_factory=list)
    allow_reuse: bool = True

    def __post_init__(self) -> None:
        if not 3 <= len(self.name) <= 32 or not _STEP_NAME.match(self.name):
            raise UserError(
                f"step name {self.name!r} must be 3-32 characters of lowercase letters, digits "
                "and '-', starting with a letter and not ending with '-'"
            )
        if not isinstance(self.parallel_run_config, ParallelRunConfig):
            raise UserError("parallel_run_config must be a ParallelRunConfig")
        if not self.inputs:
            raise UserError("a ParallelRunStep needs at least one input")
