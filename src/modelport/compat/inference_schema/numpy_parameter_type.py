"""``NumpyParameterType``: a JSON list converted to an array of the sample's dtype and shape."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np

from modelport.compat.inference_schema.abstract_parameter_type import AbstractParameterType
from modelport.compat.inference_schema.constants import NUMPY_FORMAT

__all__ = ["NumpyParameterType"]

_SIMPLE = {
    "int8": {"type": "integer", "format": "int8"},
    "int16": {"type": "integer", "format": "int16"},
    "int32": {"type": "integer", "format": "int32"},
    "int64": {"type": "integer", "format": "int64"},
    "uint8": {"type": "integer", "format": "uint8"},
    "uint16": {"type": "integer", "format": "uint16"},
    "uint32": {"type": "integer", "format": "uint32"},
    "uint64": {"type": "integer", "format": "uint64"},
    "bool": {"type": "boolean"},
    "float16": {"type": "number", "format": "float"},
    "float32": {"type": "number", "format": "float"},
    "float64": {"type": "number", "format": "double"},
    "object": {"type": "object"},
}
_TIME_UNITS = {"years": "Y", "months": "M", "weeks": "W", "days": "D", "hours": "h", "minutes": "m",
               "seconds": "s", "milliseconds": "ms", "microseconds": "us", "nanoseconds": "ns",
               "picoseconds": "ps", "femtoseconds": "fs", "attoseconds": "as"}  # fmt: skip


def dtype_to_swagger(dtype: np.dtype[Any]) -> dict[str, Any]:
    if dtype.names:
        return {
            "type": "object",
            "properties": {n: dtype_to_swagger(dtype[n]) for n in dtype.names},
        }
    if dtype.subdtype is not None:
        return array_schema(dtype_to_swagger(dtype.subdtype[0]), dtype.subdtype[1])
    name = dtype.name.lower()
    if name in _SIMPLE:
        return dict(_SIMPLE[name])
    for prefix, schema in (("datetime", {"type": "string", "format": "date-time"}), ("str", {"type": "string"}),
                           ("bytes", {"type": "string", "format": "binary"}),
                           ("void", {"type": "string", "format": "binary"}),
                           ("timedelta", {"type": "string", "format": "timedelta"})):  # fmt: skip
        if name.startswith(prefix):
            return dict(schema)
    raise TypeError(f"We currently do not support extracting schema from data of type {name}")


def array_schema(item: dict[str, Any], shape: tuple[int, ...]) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "array", "items": item}
    for _ in range(len(shape) - 1):
        schema = {"type": "array", "items": schema}
    return schema


def _example(schema: dict[str, Any], value: Any) -> Any:
    kind = schema.get("type")
    if kind == "array":
        return [_example(schema["items"], v) for v in value]
    if kind == "object" and "properties" in schema:
        return {k: _example(s, value[k]) for k, s in schema["properties"].items()}
    if kind == "number":
        return float(value)
    if kind == "integer":
        return int(value)
    if kind == "boolean":
        return bool(value)
    fmt = schema.get("format")
    if fmt == "date-time":
        return value.astype(dt.datetime).strftime("%Y-%m-%d %H:%M:%S,%f")
    return str(value)


def parse_timedelta(text: str) -> np.timedelta64:
    parts = text.split(None, 1)
    if len(parts) != 2:
        raise ValueError(
            f"Invalid numpy.timestamp64 value specified: {text}. Format should be <value> <time_unit_code>"
        )
    unit = parts[1].lower()
    if unit not in _TIME_UNITS:
        raise ValueError(
            f"Invalid numpy.timestamp64 value specified: {text}. Unrecognized time unit code"
        )
    value: np.timedelta64 = np.timedelta64(int(parts[0]), _TIME_UNITS[unit])  # type: ignore[call-overload]
    return value


def _preprocess(item: Any, dtype: np.dtype[Any]) -> Any:
    if dtype.names:
        if isinstance(item, dict):
            return tuple(_preprocess(item[n], dtype[n]) for n in dtype.names)
        return tuple(_preprocess(item[i], dtype[i]) for i in range(len(dtype.names)))
    name = dtype.name.lower()
    if name.startswith("datetime"):
        return np.datetime64(item)
    if name.startswith("timedelta"):
        return parse_timedelta(item)
    return item


class NumpyParameterType(AbstractParameterType):
    """Converts with the sample's dtype; same number of dimensions and same size on all but the first."""

    def __init__(
        self, sample_input: Any, enforce_column_type: bool = True, enforce_shape: bool = True
    ) -> None:
        if not isinstance(sample_input, np.ndarray):
            raise Exception("Invalid sample input provided, must provide a sample Numpy array.")
        super().__init__(sample_input)
        self.enforce_column_type = enforce_column_type
        self.enforce_shape = enforce_shape

    def deserialize_input(self, input_data: Any) -> Any:
        if isinstance(input_data, np.ndarray):
            return input_data
        if not isinstance(input_data, list):
            raise ValueError("Invalid input format: expected an array of items.")
        if self.enforce_column_type:
            dtype = self.sample_input.dtype
            array = np.array([_preprocess(v, dtype) for v in input_data], dtype=dtype)
        else:
            array = np.array(input_data)
        if self.enforce_shape:
            expected = self.sample_input.shape
            if array.ndim != len(expected):
                raise ValueError(
                    f"Invalid input array: an array with {len(expected)} dimensions is expected; "
                    f"input has {array.ndim} [shape {array.shape}]"
                )
            for d in range(1, len(expected)):
                if array.shape[d] != expected[d]:
                    raise ValueError(
                        f"Invalid input array: array has size {array.shape[d]} on dimension #{d}, "
                        f"while expected value is {expected[d]}"
                    )
        return array

    def input_to_swagger(self) -> dict[str, Any]:
        schema = array_schema(dtype_to_swagger(self.sample_input.dtype), self.sample_input.shape)
        schema["example"] = [_example(schema["items"], v) for v in self.sample_input]
        schema["format"] = NUMPY_FORMAT
        return schema
