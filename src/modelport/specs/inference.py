"""Inference configuration: entry script, source directory, environment (v1 ``inferenceconfig.json``).

The environment stays opaque here (an Environment object or the Azure environment JSON as a dict);
the environments package turns it, or the legacy keys, into something buildable.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from modelport.specs.errors import ConfigError, unknown_key_message

# JSON key -> SDK parameter, in the v1 order
KEYS: dict[str, str] = {
    "entryScript": "entry_script",
    "sourceDirectory": "source_directory",
    "environment": "environment",
    "description": "description",
    "runtime": "runtime",
    "condaFile": "conda_file",
    "extraDockerfileSteps": "extra_docker_file_steps",
    "enableGpu": "enable_gpu",
    "baseImage": "base_image",
    "baseImageRegistry": "base_image_registry",
    "cudaVersion": "cuda_version",
}
# keys of older v1 CLIs and templates (MLOpsPython's inference_config.yml, the image-era
# `az ml image create` files): files only, read and reported (see _V1_ONLY)
OLD_KEYS: dict[str, str] = {
    "schemaFile": "schema_file",
    "dependencies": "dependencies",
    "environmentVariables": "environment_variables",
}
# the docs' spelling of extraDockerfileSteps, accepted as the same key
KEY_ALIASES = {"extraDockerFileSteps": "extraDockerfileSteps"}
PARAMS = {v: k for k, v in KEYS.items()}
_LABELS = {**PARAMS, **{v: k for k, v in OLD_KEYS.items()}}
# v1: "environment cannot be combined with" these
LEGACY = (
    "runtime",
    "conda_file",
    "extra_docker_file_steps",
    "enable_gpu",
    "cuda_version",
    "base_image",
    "base_image_registry",
)
# legacy parts that only shaped a Docker image: local deployments do not use them
_DOCKER_ONLY = ("extra_docker_file_steps", "base_image_registry", "cuda_version")
# v1 keys modelport reads but does not act on, and why (each named in a warning when set)
_V1_ONLY = {
    "schema_file": "the swagger document comes from @input_schema/@output_schema or a "
    "swagger.json in the source directory",
    "dependencies": "only the source directory is deployed; put extra files there",
    "environment_variables": "set them in the environment's environmentVariables",
}


@dataclass(frozen=True)
class InferenceSpec:
    """A validated inference configuration; paths are as the user wrote them, ``base_dir`` anchors them."""

    entry_script: str
    source_directory: str | None = None
    environment: Any = None
    description: str | None = None
    runtime: str | None = None
    conda_file: str | None = None
    extra_docker_file_steps: str | None = None
    enable_gpu: bool | None = None
    base_image: str | None = None
    base_image_registry: Any = None
    cuda_version: str | None = None
    schema_file: str | None = None
    dependencies: Any = None
    environment_variables: Any = None
    base_dir: str = field(default=".", compare=False)
    warnings: tuple[str, ...] = field(default=(), compare=False)

    @property
    def source_root(self) -> Path | None:
        """Absolute source directory, or None when only the entry script is deployed."""
        if self.source_directory is None:
            return None
        return (Path(self.base_dir) / self.source_directory).resolve()

    @property
    def entry_script_path(self) -> Path:
        return ((self.source_root or Path(self.base_dir)) / self.entry_script).resolve()

    @property
    def entry_script_in_source(self) -> str:
        """The entry script relative to the snapshot root (source dir, else the script's folder)."""
        root = self.source_root or self.entry_script_path.parent
        return self.entry_script_path.relative_to(root).as_posix()

    @property
    def conda_file_path(self) -> Path | None:
        if self.conda_file is None:
            return None
        return ((self.source_root or Path(self.base_dir)) / self.conda_file).resolve()

    def to_json(self) -> dict[str, Any]:
        """The v1 camelCase JSON form; an environment object is serialized if it can be."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in PARAMS and value is not None:
                out[PARAMS[f.name]] = value
        if self.environment is not None and not isinstance(self.environment, Mapping):
            out["environment"] = environment_json(self.environment)
        return out


def environment_json(environment: Any) -> Any:
    """Environment object → its Azure JSON, via whichever serializer it offers."""
    for method in ("to_json", "to_dict", "_serialize_to_dict"):
        serializer = getattr(environment, method, None)
        if callable(serializer):
            return serializer()
    return environment


def parse_inference_config(
    data: Any, source: str | None = None, base_dirs: Sequence[str | os.PathLike[str]] = (".",)
) -> InferenceSpec:
    """Validate a v1 inferenceconfig (parsed JSON/YAML).

    Relative paths start at ``sourceDirectory`` if set; that and a lone ``entryScript`` are
    looked up in each of ``base_dirs`` in turn (the config file's folder, then the working dir).
    """
    if not isinstance(data, Mapping):
        raise ConfigError(["an inference configuration must be a JSON/YAML object"], source)
    problems: list[str] = []
    params: dict[str, Any] = {}
    for raw_key, value in data.items():
        key = str(KEY_ALIASES.get(raw_key, raw_key))
        name = KEYS.get(key) or OLD_KEYS.get(key)
        if name is None:
            problems.append(
                unknown_key_message(key, [*KEYS, *OLD_KEYS], "the inference configuration")
            )
        elif value is not None and value != "":
            params[name] = value
    if "environment" in params and not isinstance(params["environment"], Mapping):
        problems.append("environment must be an object (the environment's JSON definition)")
    if problems:
        raise ConfigError(problems, source)
    return build_inference_spec(params, base_dirs, source=source, label=_LABELS.__getitem__)


def build_inference_spec(
    params: Mapping[str, Any],
    base_dirs: Sequence[str | os.PathLike[str]] = (".",),
    source: str | None = None,
    label: Callable[[str], str] = str,
) -> InferenceSpec:
    """Validate SDK parameters (or parsed file keys); ``label`` names a parameter in messages."""
    problems: list[str] = []
    warnings: list[str] = []
    entry = params.get("entry_script")
    if not isinstance(entry, str) or not entry.strip():
        raise ConfigError([f"{label('entry_script')} is required (the scoring .py file)"], source)
    for name in ("source_directory", "description", "runtime", "conda_file", "base_image"):
        if params.get(name) is not None and not isinstance(params[name], str):
            problems.append(f"{label(name)} must be a string")
    cuda = params.get("cuda_version")
    if cuda is not None and (isinstance(cuda, bool) or not isinstance(cuda, str | int | float)):
        problems.append(f"{label('cuda_version')} must be a string")
    steps = params.get("extra_docker_file_steps")
    if steps is not None and not isinstance(steps, str):
        problems.append(f"{label('extra_docker_file_steps')} must be a string")
    if params.get("enable_gpu") is not None and not isinstance(params["enable_gpu"], bool):
        problems.append(f"{label('enable_gpu')} must be true or false")
    if problems:
        raise ConfigError(problems, source)

    # truthy, as v1 checks them: MLOpsPython's template sets enableGpu: False next to an environment
    legacy = [n for n in LEGACY if params.get(n)]
    if params.get("environment") is not None and legacy:
        problems.append(
            f"{label('environment')} cannot be combined with {', '.join(map(label, legacy))}: "
            "put those settings in the environment instead"
        )
    runtime = params.get("runtime")
    if runtime is not None and runtime.lower() not in ("python", "spark-py"):
        problems.append(f"{label('runtime')} must be 'python' or 'spark-py' (got {runtime!r})")
    elif runtime is not None and runtime.lower() == "spark-py":
        problems.append(f"{label('runtime')} 'spark-py' is not supported; use 'python'")
    for name in legacy:
        warnings.append(f"{label(name)} is deprecated (use an environment)")
        if name in _DOCKER_ONLY or (name == "enable_gpu" and params[name]):
            warnings[-1] = (
                f"{label(name)} is accepted but ignored: it only shaped v1's Docker image"
            )
        elif name == "base_image":
            warnings[-1] = (
                f"{label(name)} is used as the base of `modelport model package` images; "
                "deployments on this machine do not use it"
            )
    for name, why in _V1_ONLY.items():
        if params.get(name) not in (None, [], {}):
            warnings.append(f"{label(name)} is accepted but ignored: {why}")
    if problems:
        raise ConfigError(problems, source)

    base = _pick_base(params, base_dirs)
    values = {k: v for k, v in params.items() if v is not None}
    if isinstance(values.get("cuda_version"), int | float):
        values["cuda_version"] = str(values["cuda_version"])  # YAML reads 10.1 as a number
    spec = InferenceSpec(**values, base_dir=str(base))
    problems += _check_paths(spec, label)
    if problems:
        raise ConfigError(problems, source)
    try:
        warnings += _check_script(spec, label)
    except ConfigError as exc:
        raise ConfigError(exc.problems, source) from None
    return replace(spec, warnings=tuple(warnings))


def _pick_base(params: Mapping[str, Any], base_dirs: Sequence[str | os.PathLike[str]]) -> Path:
    """The first base dir where the source directory (or the lone entry script) exists."""
    bases = [Path(b).resolve() for b in base_dirs] or [Path.cwd()]
    wanted = params.get("source_directory") or params["entry_script"]
    for base in bases:
        if (base / wanted).exists():
            return base
    return bases[0]


def _check_paths(spec: InferenceSpec, label: Callable[[str], str]) -> list[str]:
    where = f"under {spec.base_dir}"
    root = spec.source_root
    if root is not None and not root.is_dir():
        return [f"{label('source_directory')} '{spec.source_directory}' is not a folder {where}"]
    if root is not None:
        where = f"in source directory {root}"
    script = spec.entry_script_path
    problems = []
    if not spec.entry_script.endswith(".py"):
        problems.append(f"{label('entry_script')} '{spec.entry_script}' must end in .py")
    elif not script.is_file():
        problems.append(f"{label('entry_script')} '{spec.entry_script}' does not exist {where}")
    elif root is not None and not script.is_relative_to(root):
        problems.append(
            f"{label('entry_script')} '{spec.entry_script}' is outside the source directory"
        )
    conda = spec.conda_file_path
    if conda is not None and not conda.is_file():
        problems.append(f"{label('conda_file')} '{spec.conda_file}' does not exist {where}")
    return problems


def _check_script(spec: InferenceSpec, label: Callable[[str], str]) -> list[str]:
    path = spec.entry_script_path
    try:
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except SyntaxError as exc:
        raise ConfigError(
            [
                f"{label('entry_script')} '{spec.entry_script}' does not parse: line {exc.lineno}: {exc.msg}"
            ]
        ) from None
    except (OSError, ValueError) as exc:
        raise ConfigError(
            [f"{label('entry_script')} '{spec.entry_script}' cannot be read: {exc}"]
        ) from None
    defined = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            defined.add(node.name)
        elif isinstance(node, ast.Assign | ast.ImportFrom | ast.Import):
            targets = node.targets if isinstance(node, ast.Assign) else []
            defined |= {t.id for t in targets if isinstance(t, ast.Name)}
            if not isinstance(node, ast.Assign):
                defined |= {a.asname or a.name for a in node.names}
    missing = [n for n in ("init", "run") if n not in defined]
    if missing:
        return [
            f"{label('entry_script')} '{spec.entry_script}' defines no top-level "
            f"{' or '.join(f'{n}()' for n in missing)}; the service will fail to load it"
        ]
    return []
