"""``input_schema`` and ``output_schema``."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from modelport.compat.inference_schema import schema_util
from modelport.compat.inference_schema.abstract_parameter_type import AbstractParameterType
from modelport.compat.inference_schema.constants import INPUT_SCHEMA_ATTR, OUTPUT_SCHEMA_ATTR

__all__ = ["input_schema", "output_schema"]

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


def _arg_names(func: Callable[..., Any]) -> list[str]:
    return inspect.getfullargspec(schema_util.innermost(func)).args


def _deserialize(value: Any, param_type: AbstractParameterType, name: str) -> Any:
    if isinstance(value, param_type.sample_data_type):
        return value
    return param_type.deserialize_input(value)


def input_schema(
    param_name: str,
    param_type: AbstractParameterType,
    convert_to_provided_type: bool = True,
    optional: bool = False,
) -> Decorator:
    """Document one run() parameter and convert the JSON value it receives to the sample's type."""
    if not isinstance(param_type, AbstractParameterType):
        raise Exception(
            "Error, provided param_type must be a subclassof the AbstractParameterType."
        )
    swagger = {param_name: param_type.input_to_swagger()}
    versions = param_type.supported_versions()

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        names = _arg_names(func)
        schema_util.register(INPUT_SCHEMA_ATTR, func, swagger, versions, names)

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if convert_to_provided_type:
                if param_name in kwargs:
                    if not (optional and not kwargs[param_name]):
                        kwargs[param_name] = _deserialize(
                            kwargs[param_name], param_type, param_name
                        )
                elif not optional:
                    if param_name not in names:
                        raise Exception(
                            f'Error, provided param_name "{param_name}" is not in the decorated function.'
                        )
                    pos = names.index(param_name)
                    if pos < len(args):
                        args = (
                            *args[:pos],
                            _deserialize(args[pos], param_type, param_name),
                            *args[pos + 1 :],
                        )
            return func(*args, **kwargs)

        return wrapper

    return decorate


def output_schema(output_type: AbstractParameterType) -> Decorator:
    """Document what run() returns (no conversion)."""
    if not isinstance(output_type, AbstractParameterType):
        raise Exception(
            "Error, provided param_type must be a subclass of the AbstractParameterType."
        )
    swagger = output_type.input_to_swagger()
    versions = output_type.supported_versions()

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        schema_util.register(OUTPUT_SCHEMA_ATTR, func, swagger, versions, _arg_names(func))

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            return func(*args, **kwargs)

        return wrapper

    return decorate
