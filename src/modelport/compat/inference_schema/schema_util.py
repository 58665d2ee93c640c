"""The registry of decorated functions: schemas and swagger versions, keyed like the real package."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from modelport.compat.inference_schema.constants import (
    ALL_SUPPORTED_VERSIONS,
    INPUT_SCHEMA_ATTR,
    OUTPUT_SCHEMA_ATTR,
)

__functions_schema__: dict[str, dict[str, Any]] = {}
__versions__: dict[str, dict[str, list[str]]] = {}


def innermost(func: Callable[..., Any]) -> Callable[..., Any]:
    while hasattr(func, "__wrapped__"):
        func = func.__wrapped__
    return func


def _key(func: Callable[..., Any]) -> str:
    f = innermost(func)
    return f"{getattr(f, '__module__', '<unknown>')}.{getattr(f, '__name__', '<unknown>')}"


def get_input_schema(func: Callable[..., Any]) -> dict[str, Any]:
    return __functions_schema__.get(_key(func), {}).get(INPUT_SCHEMA_ATTR, {"type": "object"})  # type: ignore[no-any-return]


def get_output_schema(func: Callable[..., Any]) -> dict[str, Any]:
    return __functions_schema__.get(_key(func), {}).get(OUTPUT_SCHEMA_ATTR, {"type": "object"})  # type: ignore[no-any-return]


def get_supported_versions(func: Callable[..., Any]) -> list[str]:
    versions = __versions__.get(_key(func), {})
    sets = [set(v) for v in versions.values() if v]
    if not sets:
        return list(ALL_SUPPORTED_VERSIONS)
    return sorted(set.intersection(*sets))


def get_schemas_dict() -> dict[str, Any]:
    return copy.deepcopy(__functions_schema__)


def is_schema_decorated(func: Callable[..., Any]) -> bool:
    return _key(func) in __functions_schema__


def register(
    attr: str,
    func: Callable[..., Any],
    schema: dict[str, Any],
    versions: list[str],
    arg_names: list[str],
) -> None:
    key = _key(func)
    entry = __functions_schema__.setdefault(key, {})
    if attr == INPUT_SCHEMA_ATTR:
        if attr not in entry:
            entry[attr] = {
                "type": "object",
                "properties": {n: {} for n in arg_names},
                "example": {n: "" for n in arg_names},
            }
        for name, item in schema.items():
            item = copy.deepcopy(item)
            entry[attr]["example"][name] = item.pop("example", "")
            entry[attr]["properties"][name] = item
    elif attr == OUTPUT_SCHEMA_ATTR:
        entry[attr] = copy.deepcopy(schema)
    __versions__.setdefault(key, {})[attr] = list(versions)
