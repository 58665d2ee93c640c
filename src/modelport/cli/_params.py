"""Plain coercion of option values, so a command does not pay for pydantic.

Typer (0.20+) converts every option value through a pydantic ``TypeAdapter``: importing pydantic
and building the adapters costs ~0.15 s of CPU per invocation, and its errors read "Value error,
…". Our options only use ``str``, ``int`` (optionally with a minimum/maximum), ``float``,
``bool``, ``Path``, ``StrEnum`` choices and lists of those, which need no pydantic:
:func:`use_plain_coercion` gives such parameters a converter of their own and leaves any other
annotation to Typer. If a Typer release renames what this relies on, nothing is replaced and
Typer's own coercion runs (slower, never wrong).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from pathlib import Path
from typing import Any, get_args, get_origin

_Convert = Callable[[Any], Any]

try:  # Typer internals: guarded so an upgrade degrades to Typer's coercion, not a crash
    from typer._click.core import Context
    from typer._click.exceptions import BadParameter
    from typer._coercion import RuntimeParam
    from typer.core import _TyperParameter
except ImportError:  # pragma: no cover - depends on the installed Typer
    RuntimeParam = None  # type: ignore[assignment,misc]


def _number(kind: type[int] | type[float], low: Any, high: Any) -> _Convert:
    label = "integer" if kind is int else "float"

    def convert(value: Any) -> Any:
        try:
            number = kind(value)
        except (TypeError, ValueError):
            raise ValueError(f"{value!r} is not a valid {label}.") from None
        if (low is not None and number < low) or (high is not None and number > high):
            bounds = " and ".join(
                part
                for part in (
                    f"x>={low}" if low is not None else "",
                    f"x<={high}" if high is not None else "",
                )
                if part
            )
            raise ValueError(f"{number} is not in the range {bounds}.")
        return number

    return convert


def _choice(kind: type[enum.Enum], case_sensitive: bool) -> _Convert:
    def convert(value: Any) -> Any:
        if isinstance(value, kind):
            return value
        text = str(value)
        for member in kind:
            wanted = str(member.value)
            if text == wanted or (not case_sensitive and text.lower() == wanted.lower()):
                return member
        allowed = ", ".join(repr(str(m.value)) for m in kind)
        raise ValueError(f"{text!r} is not one of {allowed}.")

    return convert


def _scalar(annotation: Any, info: Any) -> _Convert | None:
    plain_path = not (info.exists or info.resolve_path or info.writable) and (
        info.file_okay and info.dir_okay
    )
    if getattr(info, "clamp", False) or getattr(info, "parser", None) is not None:
        return None
    if annotation is str:
        return str
    if annotation is bool:
        return lambda value: value if isinstance(value, bool) else str(value).lower() in (
            "1", "true", "yes", "y", "on",
        )  # fmt: skip
    if annotation in (int, float):
        return _number(annotation, info.min, info.max)
    if annotation is Path and plain_path:
        return Path
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return _choice(annotation, bool(info.case_sensitive))
    return None


def _converter(annotation: Any, info: Any) -> tuple[_Convert, bool] | None:
    """(converter of one item, is it a list?) or None for an annotation left to Typer."""
    if get_origin(annotation) is list:
        (item,) = get_args(annotation) or (str,)
        scalar = _scalar(item, info)
        return (scalar, True) if scalar else None
    scalar = _scalar(annotation, info)
    return (scalar, False) if scalar else None


if RuntimeParam is not None:

    class _PlainParam(RuntimeParam):
        """A Typer runtime parameter whose conversion is a plain function."""

        def __init__(self, base: Any, convert: _Convert, many: bool) -> None:
            super().__init__(parameter_info=base.parameter_info, annotation=base.annotation)
            object.__setattr__(self, "_convert", convert)
            object.__setattr__(self, "_many", many)

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            try:
                if self._many:  # type: ignore[attr-defined]
                    items = value if isinstance(value, list | tuple) else [value]
                    return [self._convert(item) for item in items]  # type: ignore[attr-defined]
                return self._convert(value)  # type: ignore[attr-defined]
            except ValueError as exc:
                raise BadParameter(str(exc), ctx=ctx, param=param) from None


def use_plain_coercion(command: Any, help_names: list[str]) -> None:
    """Give every simple option of ``command`` (and its subcommands) a pydantic-free converter.

    ``help_names``: the root's help option names; click makes each command's ``--help`` option
    on first use, so it is made here (with those names) to get a converter too.
    """
    if RuntimeParam is None:  # pragma: no cover
        return
    help_option = command.get_help_option(Context(command, help_option_names=help_names))
    for param in [*getattr(command, "params", ()), help_option]:
        if not isinstance(param, _TyperParameter) or param._runtime_param is not None:
            continue
        descriptor = getattr(param, "type_descriptor", None)
        if descriptor is None or descriptor.file_annotation is not None:
            continue
        found = _converter(descriptor.annotation, descriptor.parameter_info)
        if found is not None:
            param._runtime_param = _PlainParam(descriptor, *found)
    for sub in getattr(command, "commands", {}).values():
        use_plain_coercion(sub, help_names)
