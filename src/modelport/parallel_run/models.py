"""Registered models for a batch run, laid out as a service's (``azureml-models/<name>/<version>/``).

Workers then find them as entry scripts in a service do: ``AZUREML_MODEL_DIR`` (one model: its
version folder; several: the ``azureml-models`` root) and ``Model.get_model_path(name)`` through
``AML_APP_ROOT``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

from modelport.errors import UserError

if TYPE_CHECKING:
    from modelport.sdk.workspace import Workspace

MODELS_DIR = "azureml-models"


def fetch_models(workspace: Workspace, refs: Sequence[str], app_root: str) -> dict[str, str]:
    """Download each ``NAME[:VERSION]`` under ``app_root`` once; the environment for the workers."""
    from modelport.sdk.model import Model

    folders: list[str] = []
    for ref in refs:
        name, _, version = ref.partition(":")
        if version and not version.isdigit():
            raise UserError(f"--model {ref!r}: use NAME or NAME:VERSION (a number)")
        model = Model(workspace, name=name, version=int(version) if version else None)
        dest = os.path.join(app_root, MODELS_DIR, model.name, str(model.version))
        if not os.path.isdir(dest):  # a resumed run reuses what it downloaded
            partial = dest + ".partial"
            model.download(partial, exist_ok=True)
            os.replace(partial, dest)
        folders.append(dest)
    if not folders:
        return {}
    model_dir = folders[0] if len(folders) == 1 else os.path.join(app_root, MODELS_DIR)
    return {"AML_APP_ROOT": os.path.abspath(app_root), "AZUREML_MODEL_DIR": model_dir}
