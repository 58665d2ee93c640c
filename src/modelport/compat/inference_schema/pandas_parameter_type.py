"""``PandasParameterType``: JSON read with ``pd.read_json`` in the given orient, cast to the sample's dtypes."""

from __future__ import annotations

import json
import warnings
from io import StringIO
from typing import Any

import pandas as pd

from modelport.compat.inference_schema.abstract_parameter_type import (
    AbstractParameterType,
    swagger_for_dict,
    swagger_for_list,
)
from modelport.compat.inference_schema.constants import PANDAS_FORMAT

__all__ = ["PandasParameterType"]

ORIENTS = ("split", "records", "index", "columns", "values", "table")


def _time_format(dtype: Any) -> str | None:
    name = str(dtype)
    if name.startswith("datetime"):
        return "date-time"
    if name.startswith("timedelta"):
        return "timedelta"
    return None


class PandasParameterType(AbstractParameterType):
    """Same dimensions and same size on all but the first as the sample; columns cast to its dtypes."""

    def __init__(
        self,
        sample_input: Any,
        enforce_column_type: bool = True,
        enforce_shape: bool = True,
        apply_column_names: bool = False,
        orient: str = "records",
    ) -> None:
        if not isinstance(sample_input, pd.DataFrame):
            raise Exception(
                "Invalid sample input provided, must provide a sample Pandas Dataframe."
            )
        super().__init__(sample_input)
        self.enforce_column_type = enforce_column_type
        self.enforce_shape = enforce_shape
        if apply_column_names:
            warnings.warn(
                "apply_column_names is a deprecated parameter", DeprecationWarning, stacklevel=2
            )
        self.apply_column_names = apply_column_names
        if orient not in ORIENTS:
            raise Exception(f"Invalid orient provided, must be one of {ORIENTS}")
        self.orient = orient

    def deserialize_input(self, input_data: Any) -> Any:
        if isinstance(input_data, pd.DataFrame):
            return input_data
        if not isinstance(input_data, list | dict):
            raise Exception(
                f"Error, unable to convert input of type {type(input_data)} into Pandas Dataframe"
            )
        frame = pd.read_json(StringIO(json.dumps(input_data)), orient=self.orient, dtype=False)
        if self.apply_column_names:
            frame.columns = self.sample_input.columns.copy()
        if self.enforce_column_type:
            sample_types = self.sample_input.dtypes.to_dict()
            types = {c: sample_types.get(c, object) for c in frame.columns}
            for column, kind in types.items():
                if str(kind).startswith("timedelta"):
                    frame[column] = pd.to_timedelta(frame[column])
            frame = frame.astype(dtype=types)
        if self.enforce_shape:
            expected = self.sample_input.shape
            if len(frame.shape) != len(expected):
                raise ValueError(
                    f"Invalid input data frame: a data frame with {len(expected)} dimensions is expected; "
                    f"input has {len(frame.shape)} [shape {frame.shape}]"
                )
            for d in range(1, len(expected)):
                if frame.shape[d] != expected[d]:
                    raise ValueError(
                        f"Invalid input data frame: data frame has size {frame.shape[d]} on dimension #{d}, "
                        f"while expected value is {expected[d]}"
                    )
        return frame

    def input_to_swagger(self) -> dict[str, Any]:
        sample = json.loads(self.sample_input.to_json(orient=self.orient, date_format="iso"))
        schema = (
            swagger_for_list(sample)
            if self.orient in ("records", "values")
            else swagger_for_dict(sample)
        )
        for column in self.sample_input.columns:
            fmt = _time_format(self.sample_input.dtypes[column])
            if fmt is None:
                continue
            col = str(column)
            if self.orient == "records":
                schema["items"]["properties"][col]["format"] = fmt
            elif self.orient == "index":
                for row in schema["properties"].values():
                    row["properties"][col]["format"] = fmt
            elif self.orient == "columns":
                for cell in schema["properties"][col]["properties"].values():
                    cell["format"] = fmt
            elif self.orient == "table":
                schema["properties"]["data"]["items"]["properties"][col]["format"] = fmt
        schema["format"] = PANDAS_FORMAT.format(self.orient)
        return schema
