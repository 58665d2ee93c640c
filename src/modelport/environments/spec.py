"""The environment spec value object and its Azure ML v1 JSON form (``azureml_environment.json``)."""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement

from modelport.environments.conda import parse_conda_dependencies, to_pypi
from modelport.errors import UserError

# Curated environments own these prefixes; user environments may not use them (v1 rule).
RESERVED_PREFIXES = ("azureml", "microsoft")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$")

# Keys this module reads from the JSON; anything else at the top level is carried through untouched.
_KNOWN_KEYS = {
    "name",
    "version",
    "environmentVariables",
    "python",
    "docker",
    "inferencingStackVersion",
}
_DEFAULT_DOCKER: dict[str, Any] = {
    "enabled": False,
    "baseImage": None,
    "baseDockerfile": None,
    "sharedVolumes": True,
    "shmSize": None,
    "arguments": [],
    "baseImageRegistry": {"address": None, "username": None, "password": None},
}
_DEFAULT_PYTHON_EXTRA: dict[str, Any] = {
    "condaDependenciesFile": None,
    "baseCondaEnvironment": None,
}


@dataclass(frozen=True)
class EnvironmentSpec:
    """What an environment needs, independent of where it is stored or built.

    ``conda_packages`` keeps conda specs as written (``scikit-learn=0.24.1``) so the JSON round-trips;
    they are mapped to PyPI requirements by :meth:`requirements`. ``docker`` and ``extra`` (other
    top-level JSON keys such as ``spark``/``databricks``) are kept but not acted on.
    """

    name: str
    version: str | None = None
    pip_packages: tuple[str, ...] = ()
    conda_packages: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    python_version: str | None = None
    environment_variables: dict[str, str] = field(default_factory=dict)
    user_managed_dependencies: bool = False
    interpreter_path: str = "python"
    docker: dict[str, Any] = field(default_factory=lambda: copy.deepcopy(_DEFAULT_DOCKER))
    inferencing_stack_version: str | None = None
    conda_env_name: str = "project_environment"
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.name or not _NAME_RE.match(self.name):
            raise UserError(
                f"Invalid environment name {self.name!r}: use 1-255 letters, digits, '.', '_' or '-', "
                "starting with a letter or digit."
            )
        # Validate packages early so a bad spec fails when it is read, not at deploy time.
        to_pypi(self.conda_packages)
        for line in self.pip_packages:
            if not line.startswith("-"):
                try:
                    Requirement(line)
                except InvalidRequirement as e:
                    raise UserError(f"Invalid pip requirement {line!r}: {e}") from None
        if self.inferencing_stack_version not in (None, "latest"):
            raise UserError(
                f"inferencingStackVersion must be null or 'latest', not {self.inferencing_stack_version!r}."
            )

    # -- behaviour ---------------------------------------------------------------------------

    def requirements(self) -> list[str]:
        """All pip requirement lines (conda packages mapped to PyPI first), azureml-* included."""
        return [*to_pypi(self.conda_packages), *self.pip_packages]

    def with_name(self, name: str, version: str | None = None) -> EnvironmentSpec:
        return replace(self, name=name, version=version)

    def check_user_name(self) -> None:
        """Refuse names reserved for curated environments (v1: ``AzureML*``, ``Microsoft*``)."""
        check_user_name(self.name)

    def build_identity(self) -> dict[str, Any]:
        """The parts that decide what gets installed (name, version, env vars excluded)."""
        return {
            "requirements": self.requirements(),
            "python": self.python_version,
            "userManaged": self.user_managed_dependencies,
            "interpreterPath": self.interpreter_path if self.user_managed_dependencies else None,
        }

    def content_equal(self, other: EnvironmentSpec) -> bool:
        """Same environment apart from its version (used to avoid registering duplicate versions)."""
        return to_azure_json(replace(self, version=None)) == to_azure_json(
            replace(other, version=None)
        )


def check_user_name(name: str) -> None:
    if name.lower().startswith(RESERVED_PREFIXES):
        raise UserError(
            f"Environment name {name!r} is reserved: names starting with 'AzureML' or 'Microsoft' "
            "belong to curated environments. Choose another name (clone a curated one to customize it)."
        )


# -- Azure environment JSON ------------------------------------------------------------------


def from_azure_json(doc: dict[str, Any] | str | bytes) -> EnvironmentSpec:
    """Read the v1 environment JSON (dict or text) as is."""
    if isinstance(doc, str | bytes):
        try:
            doc = json.loads(doc)
        except json.JSONDecodeError as e:
            raise UserError(f"Environment JSON is not valid JSON: {e}") from None
    if not isinstance(doc, dict):
        raise UserError("Environment JSON must be an object.")
    name = doc.get("name")
    if not isinstance(name, str):
        raise UserError("Environment JSON needs a 'name' string.")
    version = doc.get("version")
    python = _or_empty(doc.get("python"))
    if not isinstance(python, dict):
        raise UserError("Environment JSON 'python' must be an object.")
    env_vars = _or_empty(doc.get("environmentVariables"))
    if not isinstance(env_vars, dict):
        raise UserError("Environment JSON 'environmentVariables' must be an object.")
    conda = python.get("condaDependencies")
    parsed = parse_conda_dependencies(conda) if conda else None
    docker = _or_empty(doc.get("docker"))
    if not isinstance(docker, dict):
        raise UserError("Environment JSON 'docker' must be an object.")
    if docker.get("baseImage") and docker.get("baseDockerfile"):
        raise UserError("Only one of docker.baseImage and docker.baseDockerfile may be set.")
    return EnvironmentSpec(
        name=name,
        version=None if version is None else str(version),
        pip_packages=parsed.pip if parsed else (),
        conda_packages=parsed.conda if parsed else (),
        channels=parsed.channels if parsed else (),
        python_version=parsed.python if parsed else None,
        environment_variables={str(k): str(v) for k, v in env_vars.items()},
        user_managed_dependencies=bool(python.get("userManagedDependencies", False)),
        interpreter_path=str(python.get("interpreterPath") or "python"),
        docker=copy.deepcopy(docker) if docker else copy.deepcopy(_DEFAULT_DOCKER),
        inferencing_stack_version=doc.get("inferencingStackVersion"),
        conda_env_name=parsed.name if parsed else "project_environment",
        extra={
            **{k: copy.deepcopy(v) for k, v in doc.items() if k not in _KNOWN_KEYS},
            **_python_extra(python),
        },
    )


def _or_empty(value: Any) -> Any:
    return {} if value is None else value


def _python_extra(python: dict[str, Any]) -> dict[str, Any]:
    # Unread python.* keys (condaDependenciesFile, baseCondaEnvironment, ...) ride along under a
    # private key so they survive the round trip.
    known = {"userManagedDependencies", "interpreterPath", "condaDependencies"}
    rest = {k: copy.deepcopy(v) for k, v in python.items() if k not in known}
    return {"__python__": rest} if rest and rest != _DEFAULT_PYTHON_EXTRA else {}


def to_azure_json(spec: EnvironmentSpec) -> dict[str, Any]:
    """Serialize to the v1 environment JSON shape."""
    deps: list[Any] = []
    if spec.python_version:
        pin = spec.python_version
        deps.append(f"python={pin}" if pin[0].isdigit() else f"python{pin}")
    deps.extend(spec.conda_packages)
    if spec.pip_packages:
        deps.append({"pip": list(spec.pip_packages)})
    extra = dict(spec.extra)
    python_extra = extra.pop("__python__", _DEFAULT_PYTHON_EXTRA)
    python: dict[str, Any] = {
        "userManagedDependencies": spec.user_managed_dependencies,
        "interpreterPath": spec.interpreter_path,
        **python_extra,
        "condaDependencies": {
            "name": spec.conda_env_name,
            "channels": list(spec.channels),
            "dependencies": deps,
        },
    }
    doc: dict[str, Any] = {
        "name": spec.name,
        "version": spec.version,
        "environmentVariables": dict(spec.environment_variables),
        "python": python,
        "docker": copy.deepcopy(spec.docker),
        "inferencingStackVersion": spec.inferencing_stack_version,
    }
    doc.update(copy.deepcopy(extra))
    return doc


def load_azure_json(path: str | Path) -> EnvironmentSpec:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise UserError(f"Cannot read environment file {p}: {e.strerror}") from None
    return from_azure_json(text)
