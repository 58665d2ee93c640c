"""``Model.get_model_path``: where a model lives inside a deployment, with v1's cache rules.

Cache root: ``$AML_APP_ROOT/azureml-models`` (``AML_APP_ROOT`` defaults to ``/var/azureml-app``;
``./azureml-models`` is also tried so a script run from an app root finds its models).
``azureml-models/<name>/<version>/`` holds exactly one entry, the registered file or folder.
Without a version the highest integer version wins; failing that, ``./<model_name>``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from modelport.errors import NotFound, UserError

if TYPE_CHECKING:
    from modelport.sdk.workspace import Workspace

MODELS_DIR_NAME = "azureml-models"


def models_dirs() -> list[Path]:
    """Candidate cache roots, most specific first."""
    app_root = os.environ.get("AML_APP_ROOT") or "/var/azureml-app"
    dirs = [Path(app_root) / MODELS_DIR_NAME, Path.cwd() / MODELS_DIR_NAME]
    return list(dict.fromkeys(dirs))


def get_model_path(
    model_name: str, version: int | None = None, _workspace: Workspace | None = None
) -> str:
    if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
        raise UserError("version should be an int")
    if _workspace is not None:
        return _download_into_cache(_workspace, model_name, version)
    for root in models_dirs():
        name_dir = root / model_name
        chosen = version if version is not None else _latest_version(name_dir)
        if chosen is None:
            continue
        version_dir = name_dir / str(chosen)
        if version_dir.is_dir():
            return str(_single_entry(version_dir))
    if version is None and (Path.cwd() / model_name).exists():
        return model_name
    where = models_dirs()[0] / model_name
    raise NotFound(
        f"Model {model_name} not found in cache at {where} or in current working directory "
        f"{Path.cwd()}."
    )


def _latest_version(name_dir: Path) -> int | None:
    if not name_dir.is_dir():
        return None
    versions = [int(p.name) for p in name_dir.iterdir() if p.is_dir() and p.name.isdigit()]
    return max(versions) if versions else None


def _single_entry(version_dir: Path) -> Path:
    entries = [p for p in version_dir.iterdir() if not p.name.startswith(".")]
    if len(entries) != 1:
        raise UserError(
            f"Dir {version_dir} can contain only 1 file or folder, found {len(entries)}: "
            "it must hold exactly the registered model file or folder."
        )
    return entries[0]


def _download_into_cache(workspace: Workspace, model_name: str, version: int | None) -> str:
    from modelport.sdk.model import Model

    model = Model(workspace, name=model_name, version=version)
    version_dir = models_dirs()[0] / model.name / str(model.version)
    try:
        return str(_single_entry(version_dir))
    except (OSError, UserError):
        version_dir.mkdir(parents=True, exist_ok=True)
        return model.download(str(version_dir), exist_ok=True)
