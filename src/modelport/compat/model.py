"""``azureml.core.model``: ``Model.get_model_path`` for entry scripts, over the local model cache.

Lookup (reference spec 1.2): ``$AML_APP_ROOT/azureml-models/<name>/<version>/`` must hold exactly
one file or folder, whose path is returned; without a version the highest integer version wins;
otherwise ``./<name>`` in the working directory. A service has no workspace to download from;
a batch run started by driver code has (``MODELPORT_BATCH_WORKSPACE``): as in a v1 run, a model
found nowhere locally is downloaded from it (see :mod:`modelport.parallel_run.models`).
"""

from __future__ import annotations

import os
from typing import Any

__all__ = ["Model"]


class ModelNotFound(Exception):
    """No such model in the local cache."""


def _models_dir() -> str:
    return os.path.join(os.environ.get("AML_APP_ROOT", os.getcwd()), "azureml-models")


def _the_one_entry(directory: str) -> str:
    entries = sorted(os.listdir(directory))
    if len(entries) != 1:
        raise ModelNotFound(f"Dir {directory} can contain only 1 file or folder. Found {entries}")
    return os.path.join(directory, entries[0])


def _registry_model() -> Any:
    """``modelport.Model`` (the registry client); absent from a service's environment."""
    try:
        from modelport.sdk.model import Model as RegistryModel
    except ImportError:
        raise NotImplementedError(
            "azureml.core.model.Model inside a service only offers Model.get_model_path(); "
            "use modelport.Model with a workspace for the registry."
        ) from None
    return RegistryModel


class _Registry(type):
    """Names other than get_model_path (``register``, ``list``, ``Framework``...) are the registry's."""

    def __getattr__(cls, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(_registry_model(), name)

    def __instancecheck__(cls, obj: Any) -> bool:
        if type.__instancecheck__(cls, obj):
            return True
        try:
            return isinstance(obj, _registry_model())
        except NotImplementedError:
            return False


class Model(metaclass=_Registry):
    """v1 driver code and entry scripts alike: ``Model.get_model_path`` is the light lookup a
    service needs; ``Model(ws, name=...)`` and the class methods are ``modelport.Model``'s."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        return _registry_model()(*args, **kwargs)

    @staticmethod
    def get_model_path(model_name: str, version: int | None = None, _workspace: Any = None) -> str:
        if _workspace is not None:  # v1 downloads into the cache from the workspace
            path: str = _registry_model().get_model_path(model_name, version, _workspace)
            return path
        if version is not None and not isinstance(version, int):
            raise ValueError("version should be an int")
        root = os.path.join(_models_dir(), model_name)
        if version is not None:
            candidate = os.path.join(root, str(version))
            if os.path.isdir(candidate):
                return _the_one_entry(candidate)
        elif os.path.isdir(root):
            versions = [
                int(d)
                for d in os.listdir(root)
                if d.isdigit() and os.path.isdir(os.path.join(root, d))
            ]
            if versions:
                return _the_one_entry(os.path.join(root, str(max(versions))))
        local = os.path.join(os.getcwd(), model_name)
        if version is None and os.path.exists(local):
            return local
        if os.environ.get("MODELPORT_BATCH_WORKSPACE"):  # inside a batch run: its workspace
            from modelport.parallel_run.model_fetch import fetch_for_script

            return fetch_for_script(model_name, version)
        raise ModelNotFound(
            f"Model {model_name} not found in cache at {_models_dir()} or in current working "
            f"directory {os.getcwd()}."
        )
