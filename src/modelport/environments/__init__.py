"""Environments: spec, lock, build, cache and curated environments (see docs/environments.md)."""

from __future__ import annotations

from modelport.environments.build import BuiltEnvironment, ensure_built
from modelport.environments.curated import all_curated, curated_names, get_curated, is_curated
from modelport.environments.lock import EnvironmentBuildError
from modelport.environments.sources import (
    from_conda_specification,
    from_pip_requirements,
    load_from_directory,
    save_to_directory,
)
from modelport.environments.spec import (
    EnvironmentSpec,
    check_user_name,
    from_azure_json,
    load_azure_json,
    to_azure_json,
)

__all__ = [
    "BuiltEnvironment",
    "EnvironmentBuildError",
    "EnvironmentSpec",
    "all_curated",
    "check_user_name",
    "curated_names",
    "ensure_built",
    "from_azure_json",
    "from_conda_specification",
    "from_pip_requirements",
    "get_curated",
    "is_curated",
    "load_azure_json",
    "load_from_directory",
    "save_to_directory",
    "to_azure_json",
]
