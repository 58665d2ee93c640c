"""``CondaDependencies``: the conda/pip package list of an environment (v1's
``azureml.core.conda_dependencies.CondaDependencies``)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import yaml
from packaging.utils import canonicalize_name

from modelport.environments.conda import (
    CondaDependencies as _Parsed,
)
from modelport.environments.conda import (
    load_conda_file,
    parse_conda_dependencies,
    split_conda_spec,
    to_pypi,
)


def _pip_name(line: str) -> str:
    head = line.split(";", 1)[0].split("@", 1)[0]
    for sep in ("[", "=", "<", ">", "!", "~", " "):
        head = head.split(sep, 1)[0]
    return canonicalize_name(head.strip())


class CondaDependencies:
    """Pip packages, conda packages (mapped to PyPI when built), channels and the python pin."""

    def __init__(
        self,
        conda_dependencies_file_path: str | Path | None = None,
        _underlying_structure: dict[str, Any] | None = None,
    ) -> None:
        parsed: _Parsed
        if conda_dependencies_file_path is not None:
            parsed = load_conda_file(conda_dependencies_file_path)
        else:
            parsed = parse_conda_dependencies(_underlying_structure or {"dependencies": []})
        self._name = parsed.name
        self._channels = list(parsed.channels)
        self._conda = list(parsed.conda)
        self._pip = list(parsed.pip)
        self._python = parsed.python

    @staticmethod
    def create(
        pip_indexurl: str | None = None,
        pip_packages: Iterable[str] | None = None,
        conda_packages: Iterable[str] | None = None,
        python_version: str | None = None,
        pin_sdk_version: bool = True,
    ) -> CondaDependencies:
        """A new package list. Unlike v1 no ``azureml-defaults`` is added: modelport provides it."""
        deps = CondaDependencies()
        if python_version:
            deps.set_python_version(python_version)
        if pip_indexurl:
            deps.set_pip_option(f"--index-url {pip_indexurl}")
        for pkg in conda_packages or ():
            deps.add_conda_package(pkg)
        for pkg in pip_packages or ():
            deps.add_pip_package(pkg)
        return deps

    # -- pip ---------------------------------------------------------------------------------

    def add_pip_package(self, pip_package: str) -> None:
        """Add a pip requirement, replacing an entry for the same package."""
        self.remove_pip_package(pip_package)
        self._pip.append(pip_package.strip())

    def remove_pip_package(self, pip_package: str) -> None:
        name = _pip_name(pip_package)
        self._pip = [p for p in self._pip if p.startswith("-") or _pip_name(p) != name]

    def set_pip_option(self, pip_option: str) -> None:
        """An option line for the pip section (``--extra-index-url ...``)."""
        if pip_option not in self._pip:
            self._pip.insert(0, pip_option)

    @property
    def pip_packages(self) -> Iterator[str]:
        return (p for p in self._pip if not p.startswith("-"))

    @property
    def pip_options(self) -> Iterator[str]:
        return (p for p in self._pip if p.startswith("-"))

    # -- conda -------------------------------------------------------------------------------

    def add_conda_package(self, conda_package: str) -> None:
        """Add a conda package; one with no known PyPI equivalent is refused right away."""
        to_pypi([conda_package])
        self.remove_conda_package(conda_package)
        self._conda.append(conda_package.strip())

    def remove_conda_package(self, conda_package: str) -> None:
        name = split_conda_spec(conda_package)[0]
        self._conda = [c for c in self._conda if split_conda_spec(c)[0] != name]

    @property
    def conda_packages(self) -> Iterator[str]:
        return iter(list(self._conda))

    def add_channel(self, channel: str) -> None:
        if channel not in self._channels:
            self._channels.append(channel)

    def remove_channel(self, channel: str) -> None:
        self._channels = [c for c in self._channels if c != channel]

    @property
    def conda_channels(self) -> Iterator[str]:
        return iter(list(self._channels))

    def set_python_version(self, version: str) -> None:
        self._python = parse_conda_dependencies({"dependencies": [f"python={version}"]}).python

    def get_python_version(self) -> str | None:
        return self._python

    # -- serialization -----------------------------------------------------------------------

    def _as_dict(self) -> dict[str, Any]:
        deps: list[Any] = []
        if self._python:
            deps.append(f"python={self._python}")
        deps.extend(self._conda)
        if self._pip:
            deps.append({"pip": list(self._pip)})
        return {"name": self._name, "channels": list(self._channels), "dependencies": deps}

    def serialize_to_string(self) -> str:
        return yaml.safe_dump(self._as_dict(), sort_keys=False)

    def save(self, path: str | Path) -> str:
        """Write the YAML to ``path``; returns the path."""
        Path(path).write_text(self.serialize_to_string(), encoding="utf-8")
        return str(path)

    def save_to_file(self, base_directory: str | Path, conda_file_path: str | None = None) -> str:
        return self.save(Path(base_directory) / (conda_file_path or "myenv.yml"))

    def __repr__(self) -> str:
        return f"CondaDependencies({self._as_dict()!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CondaDependencies) and self._as_dict() == other._as_dict()

    __hash__ = None  # type: ignore[assignment]  # mutable
