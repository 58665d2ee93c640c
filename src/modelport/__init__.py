"""modelport: deploy machine learning models as web services on your own machines.

The public SDK names are imported lazily so that ``import modelport.serving`` (inside a service's
environment) pulls in nothing from the control plane or the HTTP client.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> module that defines it
_LAZY: dict[str, str] = {
    "Environment": "modelport.sdk.environment",
    "Experiment": "modelport.sdk.run",
    "InferenceConfig": "modelport.sdk.inference_config",
    "Model": "modelport.sdk.model",
    "ParallelRunConfig": "modelport.parallel_run.config",
    "ParallelRunStep": "modelport.parallel_run.config",
    "Pipeline": "modelport.parallel_run.pipeline",
    "Run": "modelport.sdk.run",
    "Webservice": "modelport.sdk.webservice",
    "Workspace": "modelport.sdk.workspace",
    "batch": "modelport.serving.batching",
}

__all__ = sorted([*_LAZY, "__version__"])

if TYPE_CHECKING:  # pragma: no cover
    from modelport.parallel_run.config import ParallelRunConfig as ParallelRunConfig
    from modelport.parallel_run.config import ParallelRunStep as ParallelRunStep
    from modelport.parallel_run.pipeline import Pipeline as Pipeline
    from modelport.sdk.environment import Environment as Environment
    from modelport.sdk.inference_config import InferenceConfig as InferenceConfig
    from modelport.sdk.model import Model as Model
    from modelport.sdk.run import Experiment as Experiment
    from modelport.sdk.run import Run as Run
    from modelport.sdk.webservice import Webservice as Webservice
    from modelport.sdk.workspace import Workspace as Workspace
    from modelport.serving.batching import batch as batch


def _lazy_attribute(namespace: dict[str, Any], table: dict[str, str], name: str) -> Any:
    """A module ``__getattr__``'s body: import ``name`` from ``table[name]`` once, keep it in the
    module's ``namespace``; AttributeError for names the table does not have."""
    module = table.get(name)
    if module is None:
        raise AttributeError(f"module {namespace['__name__']!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    namespace[name] = value
    return value


def __getattr__(name: str) -> Any:
    return _lazy_attribute(globals(), _LAZY, name)


def __dir__() -> list[str]:
    return __all__
