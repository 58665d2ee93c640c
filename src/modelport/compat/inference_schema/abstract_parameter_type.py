"""The base parameter type and the swagger helpers every type shares."""

from __future__ import annotations

import base64
import datetime as dt
from abc import ABC, abstractmethod
from typing import Any

from modelport.compat.inference_schema.constants import DATE_FORMAT, DATETIME_FORMAT, TIME_FORMAT


class AbstractParameterType(ABC):
    """Subclasses convert JSON-like input (``deserialize_input``) and describe it (``input_to_swagger``)."""

    def __init__(self, sample_input: Any) -> None:
        self.sample_input = sample_input
        self.sample_data_type = type(sample_input)

    def supported_versions(self) -> list[str]:
        versions = ["3.0", "3.1"]
        if self._supports_swagger_2(self.input_to_swagger()["example"]):
            versions.append("2.0")
        return sorted(versions)

    def _supports_swagger_2(self, obj: Any) -> bool:
        # swagger 2 has no oneOf: a list must hold one item type throughout
        if isinstance(obj, list) and obj:
            first = type(obj[0])
            return all(
                type(e) is first and (not isinstance(e, list) or self._supports_swagger_2(e))
                for e in obj
            )
        if isinstance(obj, dict):
            return all(self._supports_swagger_2(v) for v in obj.values())
        return True

    @abstractmethod
    def deserialize_input(self, input_data: Any) -> Any: ...

    @abstractmethod
    def input_to_swagger(self) -> dict[str, Any]: ...


def swagger_for_value(sample: Any) -> dict[str, Any]:
    """Schema (with ``example``) of a plain Python sample, nested parameter types included."""
    if isinstance(sample, AbstractParameterType):
        return sample.input_to_swagger()
    t = type(sample)
    if t is bool:
        return {"type": "boolean", "example": sample}
    if t is int:
        return {"type": "integer", "format": "int64", "example": sample}
    if t is float:
        return {"type": "number", "format": "double", "example": sample}
    if t is str:
        return {"type": "string", "example": sample}
    if t in (bytes, bytearray):
        return {"type": "string", "format": "byte", "example": base64.b64encode(sample).decode()}
    if t is dt.datetime:
        value = sample if sample.tzinfo else sample.replace(tzinfo=dt.UTC)
        return {"type": "string", "format": "date-time", "example": value.strftime(DATETIME_FORMAT)}
    if t is dt.date:
        return {"type": "string", "format": "date", "example": sample.strftime(DATE_FORMAT)}
    if t is dt.time:
        value = sample if sample.tzinfo else sample.replace(tzinfo=dt.UTC)
        return {"type": "string", "format": "time", "example": value.strftime(TIME_FORMAT)}
    if t in (list, tuple, range):
        return swagger_for_list(list(sample))
    if t is dict:
        return swagger_for_dict(sample)
    return {"type": "object", "example": sample}


def swagger_for_list(items: list[Any]) -> dict[str, Any]:
    item_schema: dict[str, Any] = {"type": "object"}
    example = []
    for item in items:
        item_schema = swagger_for_value(item)
        example.append(item_schema.pop("example"))
    return {"type": "array", "items": item_schema, "example": example}


def swagger_for_dict(data: dict[Any, Any]) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    example: dict[str, Any] = {}
    for key, value in data.items():
        schema = swagger_for_value(value)
        example[key] = schema.pop("example")
        properties[key] = schema
    return {"type": "object", "required": list(data), "properties": properties, "example": example}
