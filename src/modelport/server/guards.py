"""Delete guards: other parts of the server veto deleting a model or a workspace.

A guard is ``fn(session, obj) -> str | None``; a string is the reason to refuse. Guards run in the
deleting transaction, so a guard that reads its own table sees a consistent state. A model in use
has one guard, the usages table's (``store/usages.py``); ``store/services.py`` keeps workspaces
that hold services.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from sqlalchemy.orm import Session

Kind = Literal["model", "workspace"]
Guard = Callable[[Session, Any], str | None]

_GUARDS: dict[str, list[Guard]] = {"model": [], "workspace": []}


def delete_guard(kind: Kind) -> Callable[[Guard], Guard]:
    """Register ``fn`` as a guard on deleting objects of ``kind``."""

    def register(fn: Guard) -> Guard:
        if fn not in _GUARDS[kind]:
            _GUARDS[kind].append(fn)
        return fn

    return register


def refusal(kind: Kind, session: Session, obj: Any) -> str | None:
    """The first reason a guard gives to keep ``obj``, or None when it may go."""
    for guard in _GUARDS[kind]:
        reason = guard(session, obj)
        if reason:
            return reason
    return None
