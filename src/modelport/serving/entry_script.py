"""Loading the entry script: where it is, its init()/run() contract, its input mode."""

from __future__ import annotations

import importlib.util
import inspect
import os
import sys
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from modelport.compat.aml_request import RAWHTTP_ATTR

MODULE_NAME = "entry_module"
BATCH_ATTR = "__modelport_batch__"


class EntryScriptError(Exception):
    """The entry script cannot be loaded or breaks the init()/run() contract (exit code 3)."""


@dataclass
class EntryScript:
    path: str
    module: types.ModuleType
    init: Callable[..., Any]
    run: Callable[..., Any]
    mode: str  # "raw" (undecorated), "rawhttp" or "schema"
    params: list[inspect.Parameter] = field(
        default_factory=list
    )  # run()'s inputs, without request_headers
    wants_headers: bool = False
    is_async: bool = False
    init_is_async: bool = False
    batch: tuple[int, float] | None = None  # (max_batch_size, max_latency_s) from @modelport.batch


def locate(entry_script: str | None, source_dir: str | None, app_root: str) -> str:
    """Absolute path of the entry script (reference spec 3.5: else ``main.py``)."""
    name = entry_script or "main.py"
    candidates = [name] if os.path.isabs(name) else []
    if not os.path.isabs(name):
        if source_dir:
            candidates.append(os.path.join(source_dir, name))
        candidates += [os.path.join(app_root, name), os.path.abspath(name)]
    for c in candidates:
        if os.path.isfile(c):
            return os.path.abspath(c)
    looked = ", ".join(dict.fromkeys(os.path.abspath(c) for c in candidates))  # each place once
    raise EntryScriptError(f"Entry script {name!r} not found (looked in: {looked})")


def _innermost(func: Callable[..., Any]) -> Callable[..., Any]:
    while hasattr(func, "__wrapped__"):
        func = func.__wrapped__
    return func


SCHEMA_UTILS = ("inference_schema.schema_util", "modelport.compat.inference_schema.schema_util")


def schema_util_for(run: Callable[..., Any]) -> Any:
    """The inference-schema registry (real package or shim) that knows run, if the script used one."""
    for name in SCHEMA_UTILS:
        util = sys.modules.get(name)
        try:
            if util is not None and util.is_schema_decorated(run):
                return util
        except Exception:
            continue
    return None


def _schema_decorated(run: Callable[..., Any]) -> bool:
    return schema_util_for(run) is not None


def _rawhttp_requested(run: Callable[..., Any], inner: Callable[..., Any]) -> bool:
    """Our marker on the function, or the real packages' module-wide flag."""
    if any(getattr(f, RAWHTTP_ATTR, False) for f in (run, inner)):
        return True
    for name in (
        "azureml.contrib.services.aml_request",
        "azureml_inference_server_http.api.aml_request",
    ):
        if getattr(sys.modules.get(name), "_rawHttpRequested", False):
            return True
    return False


def load(path: str) -> EntryScript:
    """Import the script and check the contract; raise EntryScriptError with a readable reason."""
    spec = importlib.util.spec_from_file_location(MODULE_NAME, path)
    if spec is None or spec.loader is None:
        raise EntryScriptError(f"Cannot load {path} as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[MODULE_NAME] = module
    spec.loader.exec_module(module)
    init = getattr(module, "init", None)
    run = getattr(module, "run", None)
    missing = [n for n, f in (("init", init), ("run", run)) if not callable(f)]
    if missing:
        raise EntryScriptError(
            f"The entry script {path} must define {' and '.join(f'{m}()' for m in missing)}"
        )
    assert init is not None and run is not None
    inner = _innermost(run)
    sig = inspect.signature(inner)
    params = []
    wants_headers = False
    for p in sig.parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            raise EntryScriptError("run() may not use *args or **kwargs")
        if p.kind is p.POSITIONAL_ONLY:
            raise EntryScriptError("run() may not use positional-only parameters")
        if p.name == "request_headers":
            wants_headers = True
        else:
            params.append(p)
    if not params:
        raise EntryScriptError("run() must take at least one parameter besides request_headers")
    rawhttp = _rawhttp_requested(run, inner)
    schema = _schema_decorated(run)
    if rawhttp and schema:
        raise EntryScriptError("run() cannot be both @rawhttp and @input_schema decorated")
    mode = "rawhttp" if rawhttp else "schema" if schema else "raw"
    batch = getattr(run, BATCH_ATTR, None) or getattr(inner, BATCH_ATTR, None)
    if batch is not None and mode == "schema":
        raise EntryScriptError("@modelport.batch cannot be combined with @input_schema")
    if batch is not None and (len(params) != 1 or wants_headers):
        raise EntryScriptError(
            "a @modelport.batch run() takes exactly one parameter (the list of inputs)"
        )
    if mode != "schema" and len([p for p in params if p.default is p.empty]) > 1:
        raise EntryScriptError(
            "run() takes one input parameter (plus optional request_headers) unless it is @input_schema decorated"
        )
    return EntryScript(
        path=path,
        module=module,
        init=init,
        run=run,
        mode=mode,
        params=params,
        wants_headers=wants_headers,
        is_async=inspect.iscoroutinefunction(inner),
        init_is_async=inspect.iscoroutinefunction(_innermost(init)),
        batch=batch,
    )


def dir_tree(root: str | None, max_lines: int = 200) -> str:
    """The first lines of a directory listing, for the log when init() fails."""
    if not root:
        return "(no model directory set: AZUREML_MODEL_DIR is empty)"
    if not os.path.exists(root):
        return f"{root} (does not exist)"
    lines: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        depth = os.path.relpath(dirpath, root).count(os.sep) + (dirpath != root)
        lines.append("  " * depth + (os.path.basename(dirpath) or dirpath) + "/")
        for f in sorted(filenames):
            lines.append("  " * (depth + 1) + f)
        if len(lines) >= max_lines:
            lines = [*lines[:max_lines], "..."]
            break
    return "\n".join(lines)
