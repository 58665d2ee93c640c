"""The local target: replicas as supervised processes on this machine (``computeType`` local, ACI)."""

from __future__ import annotations

from modelport.targets.local.driver import LocalDriver

__all__ = ["LocalDriver"]
