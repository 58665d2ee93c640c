"""Opaque keyset cursors: the last row's sort key, base64url-encoded JSON."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from modelport.errors import UserError

MAX_LIMIT = 1000


def encode(key: list[Any]) -> str:
    raw = json.dumps(key, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str, types: tuple[type, ...]) -> list[Any]:
    """Decode a cursor whose items have ``types``; 400 on anything else."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, binascii.Error, UnicodeError) as exc:
        raise UserError("after: not a cursor returned by this server") from exc
    if (
        not isinstance(key, list)
        or len(key) != len(types)
        or not all(type(v) is t and _storable(v) for v, t in zip(key, types, strict=True))
    ):
        raise UserError("after: not a cursor returned by this server")
    return key


def _storable(value: object) -> bool:
    """A forged cursor must not reach the database with what it cannot bind (5xx otherwise)."""
    if isinstance(value, int):
        return -(2**63) <= value < 2**63
    if isinstance(value, str):
        return "\x00" not in value and len(value) <= 1024 and value.isprintable()
    return True
