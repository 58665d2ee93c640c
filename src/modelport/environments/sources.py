"""Build an :class:`EnvironmentSpec` from the files v1 users have: conda YAML, requirements.txt, a
saved environment directory; and write such a directory back."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import yaml

from modelport.environments.conda import load_conda_file
from modelport.environments.spec import EnvironmentSpec, load_azure_json, to_azure_json
from modelport.errors import Conflict, UserError

ENV_FILE = "azureml_environment.json"
CONDA_FILE = "conda_dependencies.yml"


def from_conda_specification(name: str, file_path: str | Path) -> EnvironmentSpec:
    """The v1 ``Environment.from_conda_specification``: the pip section plus mapped conda packages."""
    deps = load_conda_file(file_path)
    return EnvironmentSpec(
        name=name,
        pip_packages=deps.pip,
        conda_packages=deps.conda,
        channels=deps.channels,
        python_version=deps.python,
        conda_env_name=deps.name,
    )


def from_pip_requirements(name: str, file_path: str | Path) -> EnvironmentSpec:
    """The v1 ``Environment.from_pip_requirements``: every requirement line becomes a pip package."""
    return EnvironmentSpec(name=name, pip_packages=tuple(read_requirements(Path(file_path))))


def read_requirements(path: Path, _seen: frozenset[Path] = frozenset()) -> list[str]:
    """Requirement lines of a pip requirements file, ``-r`` includes inlined, comments dropped.

    Option lines (``--extra-index-url ...``) are kept: uv reads them from the requirements input.
    """
    resolved = path.resolve()
    if resolved in _seen:
        raise UserError(f"Requirements file {path} includes itself.")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise UserError(f"Cannot read requirements file {path}: {e.strerror}") from None
    out: list[str] = []
    for raw in _joined_lines(text):
        line = raw.split(" #", 1)[0].strip() if not raw.lstrip().startswith("#") else ""
        if not line:
            continue
        for flag in ("-r ", "--requirement ", "--requirement="):
            if line.startswith(flag):
                inc = Path(line[len(flag) :].strip())
                inc = inc if inc.is_absolute() else path.parent / inc
                out.extend(read_requirements(inc, _seen | {resolved}))
                break
        else:
            if line.startswith(("-c ", "--constraint")):
                raise UserError(f"{path}: constraint files (-c) are not supported; pin in place.")
            if line.startswith(("-e ", "--editable")):
                raise UserError(
                    f"{path}: editable requirements (-e) cannot go into an environment."
                )
            out.append(line)
    return out


def _joined_lines(text: str) -> list[str]:
    # pip joins lines ending with a backslash.
    lines: list[str] = []
    buf = ""
    for line in text.splitlines():
        if line.endswith("\\"):
            buf += line[:-1]
            continue
        lines.append(buf + line)
        buf = ""
    if buf:
        lines.append(buf)
    return lines


def load_from_directory(path: str | Path) -> EnvironmentSpec:
    """Read a directory written by ``save_to_directory`` or ``modelport env scaffold``.

    As in v1, a ``conda_dependencies.yml`` beside the JSON replaces the JSON's conda dependencies.
    """
    d = Path(path)
    env_file = d / ENV_FILE
    if not env_file.is_file():
        raise UserError(f"No {ENV_FILE} in {d}.")
    spec = load_azure_json(env_file)
    conda_file = d / CONDA_FILE
    if conda_file.is_file():
        deps = load_conda_file(conda_file)
        spec = replace(
            spec,
            pip_packages=deps.pip,
            conda_packages=deps.conda,
            channels=deps.channels,
            python_version=deps.python,
            conda_env_name=deps.name,
        )
    return spec


def save_to_directory(spec: EnvironmentSpec, path: str | Path, overwrite: bool = False) -> None:
    """Write ``azureml_environment.json`` and ``conda_dependencies.yml`` (v1 layout)."""
    d = Path(path)
    env_file, conda_file = d / ENV_FILE, d / CONDA_FILE
    if not overwrite and (env_file.exists() or conda_file.exists()):
        raise Conflict(f"{d} already holds an environment; pass overwrite=True to replace it.")
    d.mkdir(parents=True, exist_ok=True)
    doc = to_azure_json(spec)
    env_file.write_text(json.dumps(doc, indent=4) + "\n", encoding="utf-8")
    conda = doc["python"]["condaDependencies"]
    conda_file.write_text(yaml.safe_dump(conda, sort_keys=False), encoding="utf-8")
