"""Workspace config files: find, read and write them like Azure ML v1 does.

``from_config`` looks, walking up from a folder, for (in this priority order)
``.modelport/config.json``, ``.azureml/config.json``, ``aml_config/config.json``, ``config.json``,
then the legacy ``project.json`` in the same places. Each candidate is searched in the folder and all
its parents before the next candidate is tried (the original's order), so a project's
``.modelport/config.json`` two levels up wins over an unrelated ``config.json`` next to the script.
A v1 file (``subscription_id``, ``resource_group``, ``workspace_name``) is accepted as is.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelport.errors import UserError

CONFIG_DIR = ".modelport"
FILE_NAME = "config.json"
_SUBDIRS = (CONFIG_DIR, ".azureml", "aml_config", "")
_FILE_NAMES = (FILE_NAME, "project.json")


class ConfigNotFound(UserError):
    """No workspace config file in the folder or its parents."""


@dataclass(frozen=True)
class WorkspaceConfig:
    """What a config file says: the workspace and, optionally, the server that holds it."""

    workspace_name: str
    server_url: str | None
    server_token: str | None
    path: Path


def find_config(path: str | Path | None = None) -> WorkspaceConfig:
    """Find and read the nearest workspace config file (see the module docstring)."""
    start = Path(path if path is not None else ".").expanduser()
    if start.is_file():
        return read_config(start)
    if not start.exists():
        raise UserError(
            f"The path {start} given to find the workspace configuration does not exist."
        )
    start = start.resolve()
    for name in _FILE_NAMES:
        for sub in _SUBDIRS:
            for folder in (start, *start.parents):
                candidate = folder / sub / name if sub else folder / name
                if not candidate.is_file():
                    continue
                # A bare config.json may belong to something else (a model's own config, say):
                # skip it unless it names a workspace. Files in the dedicated folders must be valid.
                if sub or _names_workspace(candidate):
                    return read_config(candidate)
    raise ConfigNotFound(
        f"The workspace configuration file config.json, could not be found in {start} or its "
        "parent directories. Write one with `modelport folder attach -w <workspace>` or "
        "`Workspace.get(name).write_config()`, or pass the workspace name explicitly."
    )


def read_config(path: Path) -> WorkspaceConfig:
    """Read one config file; errors name the file and what is wrong with it."""
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UserError(
            f"Cannot read the workspace configuration file {path}: {exc.strerror}."
        ) from None
    except ValueError as exc:
        raise UserError(
            f"The workspace configuration file {path} is not valid JSON: {exc}."
        ) from None
    if not isinstance(data, dict):
        raise UserError(f"The workspace configuration file {path} must hold a JSON object.")
    # Azure ML v1 files spell it workspace_name; accept the camelCase spelling too.
    name = data.get("workspace_name") or data.get("workspaceName")
    if not isinstance(name, str) or not name:
        raise UserError(
            f'The workspace configuration file {path} has no "workspace_name"; '
            "write one with `modelport folder attach -w <workspace>`."
        )
    url = data.get("server_url")
    token = data.get("server_token")
    return WorkspaceConfig(
        workspace_name=name,
        server_url=url if isinstance(url, str) and url else None,
        server_token=token if isinstance(token, str) and token else None,
        path=path,
    )


def write_config(
    workspace_name: str,
    path: str | Path | None = None,
    *,
    file_name: str | None = None,
    server_url: str | None = None,
) -> Path:
    """Write ``<path>/.modelport/<file_name>`` and return its path (tokens are never written)."""
    folder = Path(path if path is not None else ".").expanduser() / CONFIG_DIR
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / (file_name or FILE_NAME)
    data: dict[str, str] = {"workspace_name": workspace_name}
    if server_url:
        data["server_url"] = server_url
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(json.dumps(data, indent=4) + "\n", encoding="utf-8")
    tmp.replace(target)
    return target


def _names_workspace(path: Path) -> bool:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and bool(data.get("workspace_name") or data.get("workspaceName"))
