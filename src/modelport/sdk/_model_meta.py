"""Model metadata in requests: the register body and the tag/property filters, checked client-side.

Shared by ``Model.register``, ``Run.register_model`` and ``Webservice.list`` (filters).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

from modelport.errors import UserError
from modelport.sdk import _model_files


def registration_body(
    model_name: str,
    *,
    tags: Mapping[str, Any] | None,
    properties: Mapping[str, Any] | None,
    description: str | None,
    model_framework: str | None,
    model_framework_version: str | None,
    resource_configuration: Any = None,
    datasets: Any = None,
    sample_input_dataset: Any = None,
    sample_output_dataset: Any = None,
) -> dict[str, Any]:
    """The metadata part of a register request, validated before any upload."""
    _model_files.check_model_name(model_name)
    if model_framework_version and not model_framework:
        raise UserError(_model_files.FRAMEWORK_VERSION_WITHOUT_FRAMEWORK)
    _warn_unsupported(
        datasets=datasets,
        sample_input_dataset=sample_input_dataset,
        sample_output_dataset=sample_output_dataset,
    )
    body: dict[str, Any] = {"name": model_name}
    if tags:
        body["tags"] = _str_dict(tags, "tags")
    if properties:
        body["properties"] = _str_dict(properties, "properties")
    if description is not None:
        body["description"] = description
    if model_framework:
        body["framework"] = model_framework
    if model_framework_version:
        body["frameworkVersion"] = str(model_framework_version)
    if resource_configuration is not None:
        body["resourceConfiguration"] = _resource_configuration(resource_configuration)
    return body


def _filter_param(items: Sequence[Any] | None, what: str) -> str | None:
    """``['a', ['b', 'x']]`` → ``"a,b=x"`` (v1's list form of tag/property filters)."""
    if items is None:
        return None
    if not isinstance(items, list | tuple):
        raise UserError(f"{what} must be a list of 'key' or ['key', 'value'] items.")
    parts = []
    for item in items:
        if isinstance(item, str):
            parts.append(item)
        elif isinstance(item, list | tuple) and len(item) == 2:
            parts.append(f"{item[0]}={item[1]}")
        else:
            raise UserError(f"Each {what} filter must be 'key' or ['key', 'value'], not {item!r}.")
    return ",".join(parts) or None


def _str_dict(value: Mapping[str, Any], what: str) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise UserError(f"{what} must be a dictionary of key/value pairs.")
    return {str(k): "" if v is None else str(v) for k, v in value.items()}


def _resource_configuration(value: Any) -> dict[str, Any]:
    if isinstance(value, Mapping):
        return dict(value)
    if hasattr(value, "serialize"):
        return dict(value.serialize())
    return {
        "cpu": getattr(value, "cpu", None),
        "memoryInGB": getattr(value, "memory_in_gb", None),
        "gpu": getattr(value, "gpu", None),
    }


def _warn_unsupported(**values: Any) -> None:
    names = [name for name, value in values.items() if value is not None]
    if names:
        warnings.warn(
            f"modelport does not support {', '.join(names)} yet; ignored.",
            UserWarning,
            stacklevel=3,
        )
