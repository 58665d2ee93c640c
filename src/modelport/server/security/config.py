"""The limits, declared once with their environment variables (SECURITY.md lists them)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from modelport.errors import ModelportError

MIB = 1024 * 1024
GIB = 1024 * MIB


@dataclass(frozen=True)
class SecurityLimits:
    # JSON bodies carry names, tags and file lists: 8 MiB holds ~50,000 file entries.
    max_json_bytes: int = 8 * MIB
    # Blob uploads are model files; large, but a stream without end must not fill the disk.
    max_upload_bytes: int = 20 * GIB
    # Wrong-token attempts per client address in the window before answers become 429.
    auth_failures: int = 10
    auth_window_seconds: float = 60.0

    @classmethod
    def from_env(cls) -> SecurityLimits:
        d = cls()
        return cls(
            max_json_bytes=_int("MODELPORT_MAX_JSON_BYTES", d.max_json_bytes),
            max_upload_bytes=_int("MODELPORT_MAX_UPLOAD_BYTES", d.max_upload_bytes),
            auth_failures=_int("MODELPORT_AUTH_FAILURES", d.auth_failures),
            auth_window_seconds=float(_int("MODELPORT_AUTH_WINDOW_SECONDS", 60)),
        )


def _int(env: str, default: int) -> int:
    text = os.environ.get(env)
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        raise ModelportError(f"{env}={text!r} is not a whole number") from None
    if value < 1:
        raise ModelportError(f"{env} must be at least 1, not {value}")
    return value
