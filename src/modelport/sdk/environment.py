"""``Environment``: what a service's Python needs (v1's ``azureml.core.Environment``).

Everything here is a thin skin over :class:`modelport.environments.EnvironmentSpec` (the value
object the server, the builder and the CLI share) and the environments REST API.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelport.environments import (
    BuiltEnvironment,
    EnvironmentSpec,
    check_user_name,
    ensure_built,
    from_azure_json,
    get_curated,
    is_curated,
    to_azure_json,
)
from modelport.environments import sources as _sources
from modelport.errors import NotFound, UserError
from modelport.sdk._http import seg
from modelport.sdk.conda_dependencies import CondaDependencies

if TYPE_CHECKING:
    from modelport.sdk.workspace import Workspace

__all__ = [
    "CondaDependencies",
    "ContainerRegistry",
    "DockerSection",
    "Environment",
    "PythonSection",
]


class ContainerRegistry:
    """Kept for v1 compatibility; modelport does not pull images."""

    def __init__(self) -> None:
        self.address: str | None = None
        self.username: str | None = None
        self.password: str | None = None


class DockerSection:
    """v1 docker settings: stored and round-tripped, not acted on (no containers here)."""

    _FIELDS = {
        "enabled": "enabled",
        "base_image": "baseImage",
        "base_dockerfile": "baseDockerfile",
        "shared_volumes": "sharedVolumes",
        "shm_size": "shmSize",
        "arguments": "arguments",
    }

    def __init__(self, doc: Mapping[str, Any] | None = None) -> None:
        doc = dict(doc or {})
        self._rest = {
            k: v
            for k, v in doc.items()
            if k not in self._FIELDS.values() and k != "baseImageRegistry"
        }
        self.enabled: bool = bool(doc.get("enabled", False))
        self.base_image: str | None = doc.get("baseImage")
        self.base_dockerfile: str | None = doc.get("baseDockerfile")
        self.shared_volumes: bool = bool(doc.get("sharedVolumes", True))
        self.shm_size: str | None = doc.get("shmSize")
        self.arguments: list[str] = list(doc.get("arguments") or [])
        self.base_image_registry = ContainerRegistry()
        reg = doc.get("baseImageRegistry") or {}
        self.base_image_registry.address = reg.get("address")
        self.base_image_registry.username = reg.get("username")
        self.base_image_registry.password = reg.get("password")

    def _to_dict(self) -> dict[str, Any]:
        doc = {json_key: getattr(self, attr) for attr, json_key in self._FIELDS.items()}
        r = self.base_image_registry
        doc["baseImageRegistry"] = {
            "address": r.address,
            "username": r.username,
            "password": r.password,
        }
        return {**self._rest, **doc}


class _JsonSection:
    """A v1 section kept as JSON (``spark``, ``databricks``): snake_case attributes read and write
    the camelCase keys, so v1 code that sets them keeps working; nothing acts on them."""

    def __init__(self, doc: dict[str, Any]) -> None:
        object.__setattr__(self, "_doc", doc)

    @staticmethod
    def _key(attr: str) -> str:
        head, *rest = attr.split("_")
        return head + "".join(p.title() for p in rest)

    def __getattr__(self, attr: str) -> Any:
        doc: dict[str, Any] = object.__getattribute__(self, "_doc")
        try:
            return doc[self._key(attr)]
        except KeyError:
            raise AttributeError(attr) from None

    def __setattr__(self, attr: str, value: Any) -> None:
        self._doc[self._key(attr)] = value


class PythonSection:
    """``env.python``: the interpreter and the packages."""

    def __init__(self) -> None:
        self.user_managed_dependencies = False
        self.interpreter_path = "python"
        self.conda_dependencies = CondaDependencies()
        self.conda_dependencies_file: str | None = None
        self.base_conda_environment: str | None = None


class Environment:
    """A named, versioned environment: ``Environment("my-env")``, then describe and register it."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.version: str | None = None
        self.python = PythonSection()
        self.docker = DockerSection()
        self.environment_variables: dict[str, str] = {}
        self.inferencing_stack_version: str | None = None
        self._extra: dict[str, Any] = {}
        self._workspace: Workspace | None = None
        self._details: dict[str, Any] = {}

    # -- the shared value object -------------------------------------------------------------

    def _to_spec(self) -> EnvironmentSpec:
        cd = self.python.conda_dependencies
        extra = dict(self._extra)
        extra["__python__"] = {
            "condaDependenciesFile": self.python.conda_dependencies_file,
            "baseCondaEnvironment": self.python.base_conda_environment,
        }
        return from_azure_json(
            to_azure_json(
                EnvironmentSpec(
                    name=self.name,
                    version=self.version,
                    pip_packages=tuple(cd._pip),
                    conda_packages=tuple(cd._conda),
                    channels=tuple(cd._channels),
                    python_version=cd._python,
                    environment_variables={
                        str(k): str(v) for k, v in self.environment_variables.items()
                    },
                    user_managed_dependencies=bool(self.python.user_managed_dependencies),
                    interpreter_path=str(self.python.interpreter_path or "python"),
                    docker=self.docker._to_dict(),
                    inferencing_stack_version=self.inferencing_stack_version,
                    conda_env_name=cd._name,
                    extra=extra,
                )
            )
        )

    @classmethod
    def _from_spec(cls, spec: EnvironmentSpec, workspace: Workspace | None = None) -> Environment:
        doc = to_azure_json(spec)
        env = cls(spec.name)
        env.version = spec.version
        env.python.user_managed_dependencies = spec.user_managed_dependencies
        env.python.interpreter_path = spec.interpreter_path
        env.python.conda_dependencies = CondaDependencies(
            _underlying_structure=doc["python"]["condaDependencies"]
        )
        env.python.conda_dependencies_file = doc["python"].get("condaDependenciesFile")
        env.python.base_conda_environment = doc["python"].get("baseCondaEnvironment")
        env.docker = DockerSection(spec.docker)
        env.environment_variables = dict(spec.environment_variables)
        env.inferencing_stack_version = spec.inferencing_stack_version
        env._extra = {k: copy.deepcopy(v) for k, v in spec.extra.items() if k != "__python__"}
        env._workspace = workspace
        return env

    def _serialize_to_dict(self) -> dict[str, Any]:
        """The v1 environment JSON (what ``azureml_environment.json`` holds)."""
        return to_azure_json(self._to_spec())

    @classmethod
    def _deserialize_and_add_to_object(cls, doc: Mapping[str, Any]) -> Environment:
        return cls._from_spec(from_azure_json(dict(doc)))

    # -- files -------------------------------------------------------------------------------

    @staticmethod
    def from_pip_requirements(
        name: str, file_path: str | Path, pip_version: str | None = None
    ) -> Environment:
        return Environment._from_spec(_sources.from_pip_requirements(name, file_path))

    @staticmethod
    def from_conda_specification(name: str, file_path: str | Path) -> Environment:
        return Environment._from_spec(_sources.from_conda_specification(name, file_path))

    @staticmethod
    def load_from_directory(path: str | Path) -> Environment:
        return Environment._from_spec(_sources.load_from_directory(path))

    def save_to_directory(self, path: str | Path, overwrite: bool = False) -> None:
        _sources.save_to_directory(self._to_spec(), path, overwrite=overwrite)

    def clone(self, new_name: str) -> Environment:
        """A copy under a new name, unregistered (how a curated environment is customized)."""
        env = Environment._from_spec(self._to_spec().with_name(new_name))
        return env

    # -- workspace ---------------------------------------------------------------------------

    def register(self, workspace: Workspace) -> Environment:
        """Register as the next version (an unchanged spec returns the latest version instead)."""
        check_user_name(self.name)
        details = workspace._client.post(
            f"/workspaces/{seg(workspace.name)}/environments", self._serialize_to_dict()
        )
        return Environment._from_details(details, workspace)

    @staticmethod
    def get(workspace: Workspace, name: str, version: str | int | None = None) -> Environment:
        """A registered or curated environment (the latest version when ``version`` is None)."""
        shown = "latest" if version is None else str(version)
        details = workspace._client.get(
            f"/workspaces/{seg(workspace.name)}/environments/{seg(name)}/versions/{seg(shown)}"
        )
        return Environment._from_details(details, workspace)

    @staticmethod
    def list(workspace: Workspace) -> dict[str, Environment]:
        """The latest version of every environment, curated ones included: ``{name: Environment}``."""
        items = workspace._client.paginate(
            f"/workspaces/{seg(workspace.name)}/environments", {"latest": "true"}
        )
        return {item["name"]: Environment._from_details(item, workspace) for item in items}

    @staticmethod
    def _from_details(details: Mapping[str, Any], workspace: Workspace) -> Environment:
        env = Environment._from_spec(from_azure_json(dict(details["environment"])), workspace)
        env.version = str(details["version"])
        env._details = dict(details)
        return env

    @property
    def spark(self) -> _JsonSection:
        return _JsonSection(self._extra.setdefault("spark", {}))

    @property
    def databricks(self) -> _JsonSection:
        return _JsonSection(self._extra.setdefault("databricks", {}))

    @staticmethod
    def from_dockerfile(name: str, dockerfile: Any, *args: Any, **kwargs: Any) -> Environment:
        raise UserError(_NO_IMAGES)

    @staticmethod
    def from_docker_image(name: str, image: Any, *args: Any, **kwargs: Any) -> Environment:
        raise UserError(_NO_IMAGES)

    @staticmethod
    def from_existing_conda_environment(name: str, conda_environment_name: str) -> Environment:
        raise UserError(
            "modelport does not use conda: export the packages (pip freeze > requirements.txt) and "
            "use Environment.from_pip_requirements(name, 'requirements.txt')."
        )

    @property
    def is_curated(self) -> bool:
        return is_curated(self.name)

    @property
    def lock(self) -> str | None:
        """The locked requirements of the registered version, once it has been built."""
        lock: str | None = self._details.get("lock")
        return lock

    def build_local(
        self,
        workspace: Workspace | None = None,
        platform: str | None = None,
        *,
        cache_root: str | Path | None = None,
        log: Callable[[str], None] | None = None,
        **_: Any,
    ) -> BuiltEnvironment:
        """Build (or reuse) this environment's virtual environment on this machine."""
        root = Path(cache_root) if cache_root is not None else default_cache_root()
        return ensure_built(self._to_spec(), root, log or print, lock=self.lock)

    def get_image_details(self, workspace: Workspace) -> dict[str, Any]:
        raise NotFound("modelport builds virtual environments, not images: use build_local().")

    def __repr__(self) -> str:
        return f"Environment(name={self.name!r}, version={self.version!r})"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Environment)
            and self._serialize_to_dict() == other._serialize_to_dict()
        )

    __hash__ = None  # type: ignore[assignment]  # mutable


_NO_IMAGES = (
    "modelport builds virtual environments, not images: describe the packages instead "
    "(Environment.from_pip_requirements / from_conda_specification)."
)


def default_cache_root() -> Path:
    """Where locally built environments live: MODELPORT_ENV_CACHE, else the local server's one."""
    explicit = os.environ.get("MODELPORT_ENV_CACHE")
    if explicit:
        return Path(explicit)
    from modelport.server.home import default_home  # the server's own default (root's too)

    return default_home() / "environments"


def curated(name: str) -> Environment:
    """A curated environment by name, without a server (read-only by convention)."""
    return Environment._from_spec(get_curated(name))
