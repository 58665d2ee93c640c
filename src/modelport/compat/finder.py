"""The meta-path finder that maps v1 module names to modelport's shims."""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types
from collections.abc import Sequence
from typing import Any

from modelport.compat.v1_names import MODULES, NAMES

_IS = "modelport.compat.inference_schema"

# v1 module name -> modelport module that implements it (None: an empty package); the modules
# of v1_names.NAMES are made on import, their names resolved on first use
ALIASES: dict[str, str | None] = {
    **MODULES,
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


def _packages() -> set[str]:
    """Every parent of a shimmed module: each must exist as a package."""
    parents: set[str] = set()
    for name in (*ALIASES, *NAMES):
        parts = name.split(".")
        parents.update(".".join(parts[:i]) for i in range(1, len(parts)))
    return parents


PACKAGES = _packages()


def _lazy_module(name: str, names: dict[str, str]) -> types.ModuleType:
    """A module whose attributes are imported from modelport the first time they are used."""
    module = types.ModuleType(name, f"modelport compatibility module for v1's {name}")
    module.__all__ = sorted(names)  # type: ignore[attr-defined]

    def __getattr__(attr: str) -> Any:
        target = names.get(attr)
        if target is None:
            raise AttributeError(f"module {name!r} has no attribute {attr!r} in modelport")
        mod, _, obj = target.partition(":")
        value = getattr(importlib.import_module(mod), obj)
        setattr(module, attr, value)
        return value

    module.__getattr__ = __getattr__  # type: ignore[method-assign]
    return module


class _AliasLoader(importlib.abc.Loader):
    def __init__(self, target: str | None) -> None:
        self.target = target

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        if spec.name in NAMES:
            module = _lazy_module(spec.name, NAMES[spec.name])
        elif self.target is None:
            module = types.ModuleType(spec.name, "modelport compatibility package")
        else:
            return importlib.import_module(self.target)
        if spec.name in PACKAGES:
            module.__path__ = []  # a package whose submodules only this finder provides
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        return None


class ShimFinder(importlib.abc.MetaPathFinder):
    """Provides the v1 names that nothing earlier on ``sys.meta_path`` found."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: types.ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in ALIASES and fullname not in NAMES and fullname not in PACKAGES:
            return None
        target_name = ALIASES.get(fullname)
        return importlib.machinery.ModuleSpec(
            fullname, _AliasLoader(target_name), is_package=fullname in PACKAGES
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
