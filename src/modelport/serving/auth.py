"""Data-plane authentication (filled in by phase 2; for now: no auth file means no auth)."""

from __future__ import annotations

from typing import Any


def load_auth(path: str | None, service_name: str) -> Any:
    return None
