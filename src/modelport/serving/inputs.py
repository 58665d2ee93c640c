"""The three input modes: what run() receives for a request (reference spec 1.5 and 8)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

import orjson

from modelport.compat.aml_request import AMLRequest, title_case
from modelport.serving.entry_script import EntryScript


class InputError(Exception):
    """The request cannot be turned into run()'s arguments: answer ``status`` with ``message``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


TOO_DEEP = "The input is nested too deeply to be parsed."


def _query_value(value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        return value
    except RecursionError:  # [[[[… a thousand deep: the client's error, not a 500
        raise InputError(400, TOO_DEEP) from None


def query_params(query_string: bytes) -> dict[str, Any]:
    """Query parameters, each JSON-parsed when possible; repeated keys become lists."""
    grouped: dict[str, list[Any]] = {}
    for k, v in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
        grouped.setdefault(k, []).append(_query_value(v))
    return {k: v[0] if len(v) == 1 else v for k, v in grouped.items()}


def headers_dict(raw: list[tuple[bytes, bytes]]) -> dict[str, str]:
    """request_headers as the original passes them: Werkzeug Title-Case names."""
    out: dict[str, str] = {}
    for k, v in raw:
        name = title_case(k.decode("latin-1"))
        value = v.decode("latin-1")
        out[name] = f"{out[name]}, {value}" if name in out else value
    return out


def raw_input(method: str, body: bytes, query_string: bytes) -> str:
    """Undecorated run(): the body as UTF-8 text whatever the Content-Type; GET: the query as JSON."""
    if method == "GET":
        try:
            return json.dumps(query_params(query_string))
        except RecursionError:
            raise InputError(400, TOO_DEEP) from None
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:  # the original's wording, exception text included
        raise InputError(400, f"Input cannot be decoded as UTF-8: {exc}") from None


def schema_kwargs(
    script: EntryScript, method: str, content_type: bytes | None, body: bytes, query_string: bytes
) -> dict[str, Any]:
    """@input_schema run(): arguments taken by parameter name from the JSON body (or the query)."""
    if method == "GET":
        data: Any = query_params(query_string)
    else:
        mimetype = (content_type or b"").split(b";", 1)[0].strip().lower()
        # Flask's request.is_json: application/json or application/*+json
        if not (
            mimetype == b"application/json"
            or (mimetype.startswith(b"application/") and mimetype.endswith(b"+json"))
        ):
            raise InputError(415, "Expects Content-Type to be application/json")
        if not body:
            raise InputError(400, "POST body is empty. Expecting a JSON dictionary.")
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            try:
                data = json.loads(body)  # the stdlib accepts NaN/Infinity, as the original does
            except ValueError as exc:
                raise InputError(400, f"POST body could not be decoded as JSON: {exc}") from None
            except RecursionError:
                raise InputError(400, TOO_DEEP) from None
        if not isinstance(data, dict):
            raise InputError(400, "POST body should be a JSON dictionary.")
    kwargs: dict[str, Any] = {}
    for p in script.params:
        value = data.get(p.name, p.default)
        if value is p.empty:
            raise InputError(400, f"A value is not provided for the '{p.name}' parameter.")
        kwargs[p.name] = value
    return kwargs


def rawhttp_request(scope: dict[str, Any], body: bytes) -> AMLRequest:
    client = scope.get("client")
    server = scope.get("server")
    host = f"{server[0]}:{server[1]}" if server else "localhost"
    return AMLRequest(
        method=scope["method"],
        path=scope["path"],
        query_string=scope.get("query_string", b""),
        headers=scope["headers"],
        body=body,
        scheme=scope.get("scheme", "http"),
        host=host,
        remote_addr=client[0] if client else None,
    )
