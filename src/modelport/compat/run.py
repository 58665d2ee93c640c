"""``azureml.core.run``: ``Run.get_context()`` for training and scoring scripts.

With the SDK installed (driver code, the dev environment) ``Run`` is ``modelport.Run``; inside a
service's environment, which has no control plane, ``Run.get_context()`` is an offline run that
prints what it is given, as v1's ``_OfflineRun`` does, so a script that logs a metric still runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["Run"]


def _sdk_run() -> Any:
    try:
        from modelport.sdk.run import Run as SdkRun
    except ImportError:
        return None
    return SdkRun


class _ServiceOfflineRun:
    """Offline run in a service: ``log*`` calls print, the rest answer like v1's offline run."""

    id = "OfflineRun"
    experiment = None
    status = "Running"

    def __getattr__(self, name: str) -> Callable[..., None]:
        if name.startswith("log"):
            kind = name[4:] or "scalar"

            def log(metric: str = "", value: Any = None, *args: Any, **kwargs: Any) -> None:
                print(f"Attempted to log {kind} metric {metric}:\n{value}")

            return log
        if name in ("tag", "set_tags", "add_properties", "upload_file", "complete", "fail"):
            return lambda *args, **kwargs: None
        raise AttributeError(f"an offline run has no {name!r}")

    def get_metrics(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return {}


class _Delegating(type):
    def __getattr__(cls, name: str) -> Any:
        sdk = _sdk_run()
        if name.startswith("__") or sdk is None:
            raise AttributeError(name)
        return getattr(sdk, name)


class Run(metaclass=_Delegating):
    """``modelport.Run`` where the SDK is installed; else only the offline context."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        sdk = _sdk_run()
        if sdk is None:
            raise NotImplementedError("inside a service only Run.get_context() is available")
        return sdk(*args, **kwargs)

    @staticmethod
    def get_context(allow_offline: bool = True, **kwargs: Any) -> Any:
        sdk = _sdk_run()
        if sdk is not None:
            return sdk.get_context(allow_offline, **kwargs)
        return _ServiceOfflineRun()
