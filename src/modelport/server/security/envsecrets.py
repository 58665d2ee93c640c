"""Secret-bearing fields of an environment spec: encrypted at rest, masked in answers.

An environment's ``environmentVariables`` often carry credentials (API keys, connection strings)
and ``docker.baseImageRegistry.password`` is one. The store keeps each such value encrypted with
the server's ``secret.key`` (Fernet, like service keys: ``server/crypto.py``) as
``sealed:v1:<token>``; the deploy path reads them back in clear, API answers show ``MASK``. A spec
registered again with a ``MASK`` value keeps the previous version's value for that field, so
"get, edit, register" does not replace a secret by the mask. Rows written before this existed
hold plain values: they are read as they are and masked alike.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

from modelport.server.crypto import SecretBox

SEALED = "sealed:v1:"
MASK = "****"


@lru_cache(maxsize=8)
def box_for(home: Path) -> SecretBox:
    return SecretBox.for_home(home)


def _each(doc: dict[str, Any], change: Callable[[str], str]) -> dict[str, Any]:
    """A copy of ``doc`` with ``change`` applied to every secret-bearing string value."""
    out = copy.deepcopy(doc)
    env = out.get("environmentVariables")
    if isinstance(env, dict):
        for k, v in env.items():
            if isinstance(v, str):
                env[k] = change(v)
    registry = (out.get("docker") or {}).get("baseImageRegistry")
    password = registry.get("password") if isinstance(registry, dict) else None
    if isinstance(registry, dict) and isinstance(password, str) and password:
        registry["password"] = change(password)
    return out


def seal(doc: dict[str, Any], box: SecretBox) -> dict[str, Any]:
    return _each(doc, lambda v: v if v.startswith(SEALED) else SEALED + box.encrypt(v))


def unseal(doc: dict[str, Any], box: SecretBox) -> dict[str, Any]:
    return _each(doc, lambda v: box.decrypt(v[len(SEALED) :]) if v.startswith(SEALED) else v)


def mask(doc: dict[str, Any]) -> dict[str, Any]:
    return _each(doc, lambda v: MASK)


def has_mask(doc: dict[str, Any]) -> bool:
    found: list[str] = []

    def note(value: str) -> str:
        found.append(value)
        return value

    _each(doc, note)
    return MASK in found


def restore_masked(doc: dict[str, Any], previous: dict[str, Any] | None) -> dict[str, Any]:
    """``doc`` with every ``MASK`` value taken from ``previous`` (plain), where it has one."""
    if previous is None:
        return doc
    out = copy.deepcopy(doc)
    env, old_env = out.get("environmentVariables"), previous.get("environmentVariables") or {}
    if isinstance(env, dict):
        for k, v in env.items():
            if v == MASK and isinstance(old_env.get(k), str):
                env[k] = old_env[k]
    registry = (out.get("docker") or {}).get("baseImageRegistry")
    old_registry = (previous.get("docker") or {}).get("baseImageRegistry") or {}
    if isinstance(registry, dict) and registry.get("password") == MASK:
        registry["password"] = old_registry.get("password")
    return out
