"""The meta-path finder that maps v1 module names to modelport's shims."""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types
from collections.abc import Sequence

_IS = "modelport.compat.inference_schema"

# v1 module name -> modelport module that implements it (None: an empty package)
ALIASES: dict[str, str | None] = {
    "azureml": None,
    "azureml.contrib": None,
    "azureml.contrib.services": None,
    "azureml.contrib.services.aml_request": "modelport.compat.aml_request",
    "azureml.contrib.services.aml_response": "modelport.compat.aml_response",
    "azureml.core": None,
    "azureml.core.model": "modelport.compat.model",
    "inference_schema": None,
    "inference_schema._constants": f"{_IS}.constants",
    "inference_schema.schema_decorators": f"{_IS}.schema_decorators",
    "inference_schema.schema_util": f"{_IS}.schema_util",
    "inference_schema.parameter_types": None,
    "inference_schema.parameter_types.abstract_parameter_type": f"{_IS}.abstract_parameter_type",
    "inference_schema.parameter_types.standard_py_parameter_type": f"{_IS}.standard_py_parameter_type",
    "inference_schema.parameter_types.numpy_parameter_type": f"{_IS}.numpy_parameter_type",
    "inference_schema.parameter_types.pandas_parameter_type": f"{_IS}.pandas_parameter_type",
}


class _AliasLoader(importlib.abc.Loader):
    def __init__(self, target: str | None) -> None:
        self.target = target

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        if self.target is None:
            module = types.ModuleType(spec.name, "modelport compatibility package")
            module.__path__ = []  # a package whose submodules only this finder provides
            return module
        return importlib.import_module(self.target)

    def exec_module(self, module: types.ModuleType) -> None:
        return None


class ShimFinder(importlib.abc.MetaPathFinder):
    """Provides the v1 names that nothing earlier on ``sys.meta_path`` found."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: types.ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in ALIASES:
            return None
        target_name = ALIASES[fullname]
        return importlib.machinery.ModuleSpec(
            fullname, _AliasLoader(target_name), is_package=target_name is None
        )


def install(front: bool = False) -> ShimFinder:
    """Add the finder once; ``front=True`` makes the shims win over installed packages (tests)."""
    for finder in sys.meta_path:
        if isinstance(finder, ShimFinder):
            return finder
    finder = ShimFinder()
    if front:
        sys.meta_path.insert(0, finder)
    else:
        sys.meta_path.append(finder)
    return finder
