"""``Model.get_model_path``: where a model lives inside a deployment, with v1's cache rules.

The lookup itself is the inference server's (:mod:`modelport.compat.model`, what entry scripts
import as ``azureml.core.model``), so the SDK and a running service answer alike:
``$AML_APP_ROOT/azureml-models/<name>/<version>/`` (``AML_APP_ROOT`` defaults to the working
directory) holds exactly one entry, the registered file or folder; without a version the highest
integer version wins; failing that, ``./<model_name>``. Here its errors become modelport's, and
with ``_workspace`` a model missing from the cache is downloaded into it first.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from modelport.compat import model as _compat
from modelport.errors import NotFound, UserError

if TYPE_CHECKING:
    from modelport.sdk.workspace import Workspace

MODELS_DIR_NAME = "azureml-models"


def models_dir() -> Path:
    return Path(os.environ.get("AML_APP_ROOT") or os.getcwd()) / MODELS_DIR_NAME


def get_model_path(
    model_name: str, version: int | None = None, _workspace: Workspace | None = None
) -> str:
    if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
        raise UserError("version should be an int")
    if _workspace is not None:
        return _download_into_cache(_workspace, model_name, version)
    try:
        return _compat.Model.get_model_path(model_name, version)
    except _compat.ModelNotFound as exc:
        raise NotFound(str(exc)) from None
    except ValueError as exc:
        raise UserError(str(exc)) from None


def _download_into_cache(workspace: Workspace, model_name: str, version: int | None) -> str:
    from modelport.sdk.model import Model

    model = Model(workspace, name=model_name, version=version)
    version_dir = models_dir() / model.name / str(model.version)
    entries = list(version_dir.iterdir()) if version_dir.is_dir() else []
    if len(entries) == 1:
        return str(entries[0])
    version_dir.mkdir(parents=True, exist_ok=True)
    return model.download(str(version_dir), exist_ok=True)
