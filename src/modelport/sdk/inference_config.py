"""``InferenceConfig``: the v1 SDK class describing how a model is served (entry script, environment)."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

from modelport.specs.errors import ConfigWarning
from modelport.specs.files import load_inference_config
from modelport.specs.inference import KEYS, InferenceSpec, build_inference_spec


class InferenceConfig:
    """Entry script, source directory and environment of a deployment (validated on creation).

    Relative paths start at ``source_directory`` if given, else at the working directory at the
    time the object is created. ``environment`` is an ``Environment`` (or its JSON as a dict).
    """

    def __init__(
        self,
        entry_script: str,
        source_directory: str | None = None,
        environment: Any = None,
        description: str | None = None,
        runtime: str | None = None,
        conda_file: str | None = None,
        extra_docker_file_steps: str | None = None,
        enable_gpu: bool | None = None,
        base_image: str | None = None,
        base_image_registry: Any = None,
        cuda_version: str | None = None,
    ) -> None:
        self.entry_script = entry_script
        self.source_directory = source_directory
        self.environment = environment
        self.description = description
        self.runtime = runtime
        self.conda_file = conda_file
        self.extra_docker_file_steps = extra_docker_file_steps
        self.enable_gpu = enable_gpu
        self.base_image = base_image
        self.base_image_registry = base_image_registry
        self.cuda_version = cuda_version
        self._base_dir = os.getcwd()
        for message in self.validate_configuration().warnings:
            warnings.warn(message, ConfigWarning, stacklevel=2)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> InferenceConfig:
        """Read an ``inferenceconfig.json`` (or YAML) file."""
        spec = load_inference_config(path)
        for message in spec.warnings:
            warnings.warn(message, ConfigWarning, stacklevel=2)
        return cls._from_spec(spec)

    @classmethod
    def _from_spec(cls, spec: InferenceSpec) -> InferenceConfig:
        config = cls.__new__(cls)
        for param in KEYS.values():
            setattr(config, param, getattr(spec, param))
        config._base_dir = spec.base_dir
        return config

    def validate_configuration(self) -> InferenceSpec:
        """Check the configuration (script exists, ends in .py, parses, no environment+legacy mix)."""
        params = {param: getattr(self, param) for param in KEYS.values()}
        return build_inference_spec(params, (self._base_dir,))

    @property
    def spec(self) -> InferenceSpec:
        """The validated value object (what the deploy call sends)."""
        return self.validate_configuration()

    def serialize(self) -> dict[str, Any]:
        """The v1 JSON form (camelCase keys)."""
        return self.spec.to_json()

    def __repr__(self) -> str:
        where = Path(self._base_dir) / (self.source_directory or "")
        return (
            f"InferenceConfig(entry_script={self.entry_script!r}, source_directory={str(where)!r})"
        )
