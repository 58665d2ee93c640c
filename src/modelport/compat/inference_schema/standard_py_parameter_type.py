"""``StandardPythonParameterType``: any JSON-able Python sample."""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

from modelport.compat.inference_schema.abstract_parameter_type import (
    AbstractParameterType,
    swagger_for_value,
)
from modelport.compat.inference_schema.constants import DATE_FORMAT

__all__ = ["StandardPythonParameterType"]


def _parse_datetime(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.strip().replace(",", "."))


class StandardPythonParameterType(AbstractParameterType):
    """Type-checks the value against the sample's type (int accepted for float); parses dates and base64."""

    def __init__(self, sample_input: Any) -> None:
        super().__init__(sample_input)
        self.sample_data_type_map: dict[Any, AbstractParameterType] = {}
        self.sample_data_type_list: list[AbstractParameterType] = []
        if isinstance(sample_input, dict):
            self.sample_data_type_map = {
                k: v for k, v in sample_input.items() if isinstance(v, AbstractParameterType)
            }
        elif isinstance(sample_input, list | tuple):
            self.sample_data_type_list = [
                v for v in sample_input if isinstance(v, AbstractParameterType)
            ]

    def deserialize_input(self, input_data: Any) -> Any:
        t = self.sample_data_type
        if isinstance(input_data, str):
            if t is dt.date:
                input_data = dt.datetime.strptime(input_data, DATE_FORMAT).date()
            elif t is dt.datetime:
                input_data = _parse_datetime(input_data)
            elif t is dt.time:
                input_data = dt.time.fromisoformat(input_data.strip())
            elif t in (bytes, bytearray):
                input_data = t(base64.b64decode(input_data.encode("utf-8")))
        if t is float and type(input_data) is int:
            return input_data
        if not isinstance(input_data, t):
            raise ValueError(
                f"Invalid input data type to parse. Expected: {t} but got {type(input_data)}"
            )
        # nested parameter types inside a dict/list sample are converted too
        if self.sample_data_type_map and isinstance(input_data, dict):
            input_data = {
                k: (
                    self.sample_data_type_map[k].deserialize_input(v)
                    if k in self.sample_data_type_map
                    else v
                )
                for k, v in input_data.items()
            }
        elif self.sample_data_type_list and isinstance(input_data, list):
            nested = self.sample_data_type_list[0]
            input_data = [nested.deserialize_input(v) for v in input_data]
        return input_data

    def input_to_swagger(self) -> dict[str, Any]:
        if self.sample_input is None:
            raise ValueError("Sample input cannot be None")
        schema = swagger_for_value(self.sample_input)
        try:
            json.dumps(schema)
        except TypeError as exc:
            raise TypeError(
                "Invalid python data sample provided: ensure that the data is fully JSON serializable to be "
                f"able to generate swagger schema from it. Actual error: {exc}"
            ) from None
        return schema
