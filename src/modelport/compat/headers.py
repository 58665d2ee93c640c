"""Werkzeug-style headers: what ``AMLResponse.headers`` (and a request's headers) are in v1 scripts.

An ordered list of ``(name, value)`` pairs: names compare case-insensitively but keep the case
they were given, a name may repeat, values are stored as ``str`` (``True`` becomes ``"True"``, as
Werkzeug does). Microsoft's own samples write ``resp.headers["Access-Control-Allow-Origin"] = "*"``,
so item assignment, ``add``/``add_header``, ``extend``, ``set``, ``setdefault``, ``get``,
``getlist``/``get_all``, ``remove``, ``pop`` and deletion all behave as in Werkzeug 3.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

__all__ = ["Headers", "converted"]

_MISSING: Any = object()


def _value(value: Any) -> str:
    text = value if isinstance(value, str) else str(value)
    if "\n" in text or "\r" in text:
        raise ValueError("Header values must not contain newline characters.")
    return text


def _with_options(value: Any, options: Mapping[str, Any]) -> str:
    """``add("Content-Disposition", "attachment", filename="a.txt")`` -> ``attachment; filename=a.txt``."""
    text = _value(value)
    for key, opt in options.items():
        if opt is None:
            continue
        name = key.replace("_", "-")
        text += f"; {name}" if opt is True else f"; {name}={_value(opt)}"
    return text


def converted(value: Any, type: Callable[[Any], Any] | None, default: Any) -> Any:
    """Werkzeug's ``get(key, default, type)``: the value through ``type``, or the default when
    the conversion fails."""
    if type is None:
        return value
    try:
        return type(value)
    except (ValueError, TypeError):
        return default


def _pairs(source: Any) -> Iterator[tuple[str, Any]]:
    """Pairs from a mapping (a list value gives one pair per item) or an iterable of pairs."""
    if isinstance(source, Headers):
        yield from source.items()
        return
    if isinstance(source, Mapping):
        for key, value in source.items():
            if isinstance(value, list | tuple):
                for item in value:
                    yield key, item
            else:
                yield key, value
        return
    for key, value in source:
        yield key, value


class Headers:
    """An ordered, case-insensitive multi-dict of header names to string values."""

    def __init__(self, defaults: Any = None) -> None:
        self._list: list[tuple[str, str]] = []
        if defaults is not None:
            self.extend(defaults)

    # ------------------------------------------------------------------ reading
    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, int | slice):
            return self._list[key]
        lk = str(key).lower()
        for name, value in self._list:
            if name.lower() == lk:
                return value
        raise KeyError(key)

    def get(self, key: str, default: Any = None, type: Callable[[str], Any] | None = None) -> Any:
        try:
            value = self[key]
        except KeyError:
            return default
        return converted(value, type, default)

    def getlist(self, key: str, type: Callable[[str], Any] | None = None) -> list[Any]:
        lk = key.lower()
        values = [v for k, v in self._list if k.lower() == lk]
        if type is None:
            return values
        out = []
        for v in values:
            try:
                out.append(type(v))
            except (ValueError, TypeError):
                continue
        return out

    get_all = getlist

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        lk = key.lower()
        return any(k.lower() == lk for k, _ in self._list)

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(list(self._list))

    def __len__(self) -> int:
        return len(self._list)

    def __bool__(self) -> bool:
        return bool(self._list)

    def keys(self, lower: bool = False) -> list[str]:
        return [k.lower() if lower else k for k, _ in self._list]

    def values(self) -> list[str]:
        return [v for _, v in self._list]

    def items(self, lower: bool = False) -> list[tuple[str, str]]:
        return [(k.lower() if lower else k, v) for k, v in self._list]

    def to_wsgi_list(self) -> list[tuple[str, str]]:
        return list(self._list)

    def to_dict(self) -> dict[str, str]:
        """One entry per name; repeated headers joined with ', '."""
        out: dict[str, str] = {}
        for k, v in self._list:
            out[k] = f"{out[k]}, {v}" if k in out else v
        return out

    def copy(self) -> Headers:
        return type(self)(self._list)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Headers):
            return self.items(lower=True) == other.items(lower=True)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable, like Werkzeug's

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._list!r})"

    def __str__(self) -> str:
        return "".join(f"{k}: {v}\r\n" for k, v in self._list) + "\r\n"

    # ------------------------------------------------------------------ writing
    def add(self, key: str, value: Any, **options: Any) -> None:
        """Add a value, keeping the ones already there."""
        self._list.append((str(key), _with_options(value, options)))

    add_header = add

    def set(self, key: str, value: Any, **options: Any) -> None:
        """Replace the first value of ``key`` in place and drop the others (append when absent)."""
        text = _with_options(value, options)
        lk = key.lower()
        for i, (name, _) in enumerate(self._list):
            if name.lower() == lk:
                self._list[i] = (str(key), text)
                self._list[i + 1 :] = [p for p in self._list[i + 1 :] if p[0].lower() != lk]
                return
        self._list.append((str(key), text))

    def __setitem__(self, key: Any, value: Any) -> None:
        if isinstance(key, int):
            name, val = value
            self._list[key] = (str(name), _value(val))
        else:
            self.set(key, value)

    def setdefault(self, key: str, default: Any) -> str:
        if key in self:
            return str(self[key])
        self.set(key, default)
        return _value(default)

    def setlist(self, key: str, values: Iterable[Any]) -> None:
        self.remove(key)
        for value in values:
            self.add(key, value)

    def extend(self, *args: Any, **kwargs: Any) -> None:
        """Add every pair of a mapping, an iterable of pairs or keyword arguments."""
        if len(args) > 1:
            raise TypeError(f"extend expected at most 1 argument, got {len(args)}")
        for source in (*args, kwargs):
            for key, value in _pairs(source):
                self.add(key, value)

    def update(self, *args: Any, **kwargs: Any) -> None:
        """Replace the values of every name given (several values when given a list)."""
        if len(args) > 1:
            raise TypeError(f"update expected at most 1 argument, got {len(args)}")
        grouped: dict[str, list[Any]] = {}
        for source in (*args, kwargs):
            for key, value in _pairs(source):
                grouped.setdefault(key, []).append(value)
        for key, values in grouped.items():
            self.setlist(key, values)

    def __delitem__(self, key: Any) -> None:
        if isinstance(key, int | slice):
            del self._list[key]
            return
        lk = str(key).lower()
        self._list[:] = [p for p in self._list if p[0].lower() != lk]

    def remove(self, key: str) -> None:
        del self[key]

    def pop(self, key: Any = None, default: Any = _MISSING) -> Any:
        if key is None:
            return self._list.pop()
        if isinstance(key, int):
            return self._list.pop(key)
        try:
            value = self[key]
        except KeyError:
            if default is _MISSING:
                raise
            return default
        del self[key]
        return value

    def popitem(self) -> tuple[str, str]:
        return self._list.pop()

    def clear(self) -> None:
        self._list.clear()
