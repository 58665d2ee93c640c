"""``azureml.contrib.services.aml_request``: the request object a ``@rawhttp`` run() receives.

It offers what v1 entry scripts use of the Flask/Werkzeug request: ``method``, ``path``,
``full_path`` (always with ``?``), ``url``, ``headers`` (case-insensitive, Title-Case names),
``args`` (multi-dict), ``get_data()``, ``data``, ``get_json()``/``json``, ``form``, ``files``,
``content_type``, ``mimetype``, ``content_length``, ``remote_addr``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any, TypeVar
from urllib.parse import parse_qsl

from modelport.compat.headers import Headers as _Headers
from modelport.compat.headers import converted
from modelport.compat.multipart import FileStorage, parse_form

__all__ = ["AMLRequest", "FileStorage", "Headers", "MultiDict", "rawhttp"]

F = TypeVar("F", bound=Callable[..., Any])

RAWHTTP_ATTR = "_modelport_rawhttp"


def rawhttp(func: F) -> F:
    """Mark run() as taking the whole HTTP request (any method) instead of the body text."""
    setattr(func, RAWHTTP_ATTR, True)
    return func


def title_case(name: str) -> str:
    """Header names the way Werkzeug shows them: ``x-ms-request-id`` -> ``X-Ms-Request-Id``."""
    return "-".join(p[:1].upper() + p[1:].lower() for p in name.split("-"))


class MultiDict(dict[str, Any]):
    """A dict of first values that also keeps every value (``getlist``), like Werkzeug's."""

    def __init__(self, pairs: Iterable[tuple[str, Any]] = ()) -> None:
        super().__init__()
        self._lists: dict[str, list[Any]] = {}
        for k, v in pairs:
            self._lists.setdefault(k, []).append(v)
            if k not in self:
                super().__setitem__(k, v)

    def getlist(self, key: str, type: Callable[[Any], Any] | None = None) -> list[Any]:
        values = self._lists.get(key, [])
        return [type(v) for v in values] if type else list(values)

    def get(self, key: str, default: Any = None, type: Callable[[Any], Any] | None = None) -> Any:
        if key not in self:
            return default
        return converted(self[key], type, default)

    def to_dict(self, flat: bool = True) -> dict[str, Any]:
        return dict(self) if flat else {k: list(v) for k, v in self._lists.items()}

    def items(self, multi: bool = False) -> Any:
        if multi:
            return [(k, v) for k, vs in self._lists.items() for v in vs]
        return super().items()


class Headers(_Headers):
    """Request headers, case-insensitive; names shown in Title-Case as Werkzeug's EnvironHeaders does."""

    def __init__(self, raw: Iterable[tuple[bytes, bytes]] = ()) -> None:
        super().__init__()
        self._list = [(title_case(k.decode("latin-1")), v.decode("latin-1")) for k, v in raw]


class AMLRequest:
    """One HTTP request, as a ``@rawhttp`` run() sees it."""

    def __init__(
        self,
        method: str,
        path: str,
        query_string: bytes,
        headers: Iterable[tuple[bytes, bytes]],
        body: bytes,
        scheme: str = "http",
        host: str = "localhost",
        remote_addr: str | None = None,
    ) -> None:
        self.method = method
        self.path = path
        self.query_string = query_string
        self.headers = Headers(headers)
        self.scheme = scheme
        self.host = self.headers.get("Host", host)
        self.remote_addr = remote_addr
        self._body = body
        self._form: tuple[MultiDict, MultiDict] | None = None
        self.args = MultiDict(parse_qsl(query_string.decode("latin-1"), keep_blank_values=True))

    @property
    def full_path(self) -> str:
        return f"{self.path}?{self.query_string.decode('latin-1')}"

    @property
    def url(self) -> str:
        qs = self.query_string.decode("latin-1")
        return f"{self.scheme}://{self.host}{self.path}" + (f"?{qs}" if qs else "")

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://{self.host}{self.path}"

    @property
    def content_type(self) -> str | None:
        value: str | None = self.headers.get("Content-Type")
        return value

    @property
    def mimetype(self) -> str:
        return (self.content_type or "").split(";", 1)[0].strip().lower()

    @property
    def content_length(self) -> int | None:
        return len(self._body) if self._body or self.method in ("POST", "PUT", "PATCH") else None

    @property
    def is_json(self) -> bool:
        mt = self.mimetype
        return mt == "application/json" or (mt.startswith("application/") and mt.endswith("+json"))

    def get_data(
        self, cache: bool = True, as_text: bool = False, parse_form_data: bool = False
    ) -> bytes | str:
        if parse_form_data:
            self._parse_form()
        return self._body.decode("utf-8", "replace") if as_text else self._body

    @property
    def data(self) -> bytes:
        return self._body

    def get_json(self, force: bool = False, silent: bool = False, cache: bool = True) -> Any:
        if not (force or self.is_json):
            if silent:
                return None
            raise ValueError(
                "Did not attempt to load JSON data because the request Content-Type was not 'application/json'."
            )
        try:
            return json.loads(self._body)
        except ValueError:
            if silent:
                return None
            raise

    @property
    def json(self) -> Any:
        return self.get_json()

    def _parse_form(self) -> tuple[MultiDict, MultiDict]:
        if self._form is None:
            fields, files = parse_form(self.content_type or "", self._body)
            self._form = (MultiDict(fields), MultiDict(files))
        return self._form

    @property
    def form(self) -> MultiDict:
        return self._parse_form()[0]

    @property
    def files(self) -> MultiDict:
        return self._parse_form()[1]

    @property
    def values(self) -> MultiDict:
        return MultiDict([*self.args.items(multi=True), *self.form.items(multi=True)])

    def __repr__(self) -> str:
        return f"<AMLRequest {self.method} {self.full_path}>"
