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


# Set for the workers of a batch run started by driver code: the run's workspace (its server's
# URL and token travel as MODELPORT_URL / MODELPORT_TOKEN, which the SDK reads anyway) and where
# models fetched on demand go when AML_APP_ROOT is not set.
RUN_WORKSPACE = "MODELPORT_BATCH_WORKSPACE"
RUN_APP_ROOT = "MODELPORT_BATCH_APP_ROOT"


def workspace_env(workspace: Workspace, app_root: str) -> dict[str, str]:
    """What a worker needs to reach ``workspace`` (v1: a run's script downloads from its workspace).

    Environment variables, never arguments: a token on a command line is visible to every user.
    """
    from modelport.sdk._target import ENV_CA_BUNDLE, ENV_TOKEN, ENV_URL

    client = workspace._client
    env = {ENV_URL: client.url, RUN_WORKSPACE: workspace.name, RUN_APP_ROOT: app_root}
    if client._token:
        env[ENV_TOKEN] = client._token
    if isinstance(client._verify, str):  # a private CA (the local server's own certificate)
        env[ENV_CA_BUNDLE] = client._verify
    return env
