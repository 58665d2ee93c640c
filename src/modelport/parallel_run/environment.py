"""The script's environment, built like a service's: same builder, same cache, same lock.

What a batch run accepts as its environment (``ParallelRunConfig.environment`` or ``modelport
batch run --environment``): a v1 ``Environment`` object, an ``EnvironmentSpec``, a saved
environment folder (``azureml_environment.json``), an environment JSON file, a conda YAML, a pip
requirements file, a curated environment name, or ``NAME[:VERSION]`` of an environment
registered in the workspace. It is built (or reused) by ``environments.ensure_built`` in the
local server's cache (``MODELPORT_ENV_CACHE``, default ``~/.modelport/environments``), so a
batch run and a service with the same spec share one virtual environment, and no server is
needed to build it. The workers then run with that environment's interpreter.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelport.errors import UserError

if TYPE_CHECKING:
    from modelport.environments.spec import EnvironmentSpec
    from modelport.sdk.workspace import Workspace

_NAME_CHARS = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class ScriptEnvironment:
    """A built environment as the workers need it."""

    name: str
    python: str
    key: str
    env_vars: dict[str, str]
    document: dict[str, Any]  # the v1 JSON of the spec: a Ray node rebuilds it from this...
    lock: str  # ...and this lock, to get exactly the same packages


def resolve_spec(
    value: Any, workspace: Callable[[], Workspace] | None = None
) -> tuple[EnvironmentSpec, str | None]:
    """The spec (and the stored lock, when there is one) of whatever names the environment."""
    from modelport.environments import (
        EnvironmentSpec,
        from_conda_specification,
        from_pip_requirements,
        get_curated,
        is_curated,
        load_azure_json,
        load_from_directory,
    )

    if isinstance(value, EnvironmentSpec):
        return value, None
    if hasattr(value, "_to_spec"):  # the v1 SDK's Environment (a registered one has a lock)
        return value._to_spec(), getattr(value, "lock", None)
    if not isinstance(value, str | os.PathLike):
        raise UserError(f"environment must be an Environment, a file or a name, not {value!r}")
    text = os.fspath(value)
    path = Path(text)
    if path.is_dir():
        return load_from_directory(path), None
    if path.is_file():
        stem = _NAME_CHARS.sub("-", path.stem).strip("-.") or "batch"
        if path.suffix == ".json":
            return load_azure_json(path), None
        if path.suffix in (".yml", ".yaml"):
            return from_conda_specification(stem, path), None
        return from_pip_requirements(stem, path), None
    if os.sep in text or path.suffix in (".json", ".yml", ".yaml", ".txt"):
        raise UserError(f"environment {text!r} is not a file or a folder")
    if is_curated(text):
        return get_curated(text), None
    name, _, version = text.partition(":")
    if workspace is None:
        raise UserError(
            f"environment {text!r} is not a file, a folder or a curated environment "
            "(a registered environment needs the workspace: -w)"
        )
    from modelport.sdk.environment import Environment

    registered = Environment.get(workspace(), name, version or None)
    return registered._to_spec(), registered.lock


def build(
    value: Any, log: Callable[[str], None], workspace: Callable[[], Workspace] | None = None
) -> ScriptEnvironment:
    """Build the environment (or reuse its cached build) with the services' builder."""
    from modelport.environments import ensure_built, to_azure_json
    from modelport.sdk.environment import default_cache_root

    spec, lock = resolve_spec(value, workspace)
    log(f"Environment {spec.name}: resolving and building (or reusing) it.")
    built = ensure_built(spec, default_cache_root(), log, lock=lock)
    return ScriptEnvironment(
        spec.name,
        str(built.python),
        built.key,
        dict(spec.environment_variables),
        to_azure_json(spec),
        built.lock,
    )


def python_on_this_node(python: str, document: dict[str, Any] | None, lock: str | None) -> str:
    """The interpreter here: the driver's build when this machine has it, else the same build.

    Ray actors call this on their node: on the driver's machine the path exists (a cache hit);
    on another node the environment is built there from the spec and the driver's lock.
    """
    if os.path.isfile(python) or document is None:
        return python
    from modelport.environments import ensure_built, from_azure_json
    from modelport.sdk.environment import default_cache_root

    spec = from_azure_json(document)
    built = ensure_built(
        spec, default_cache_root(), lambda line: print(line, flush=True), lock=lock
    )
    return str(built.python)
