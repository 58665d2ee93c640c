"""No-code deployment: a built-in entry script for one scikit-learn or ONNX model.

Follows the original's rules (reference spec 2.1 and 5.3): without an inference config, exactly one
model whose framework supports it is served directly; anything else is refused with the original's
messages. The request body is the original's ``{"data": [[...]], "method": "predict"}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from modelport.errors import UserError

SCIKITLEARN = "ScikitLearn"
ONNX = "Onnx"
SCRIPT_NAME = "modelport_nocode_score.py"
# Model property that picks the scikit-learn method used when a request names none.
METHOD_PROPERTY = "method"
ALLOWED_METHODS = (
    "predict",
    "predict_proba",
    "predict_log_proba",
    "decision_function",
    "transform",
)


def canonical_framework(framework: str | None) -> str | None:
    """Map the spellings clients use (``Model.Framework.SCIKITLEARN`` = "ScikitLearn") to one."""
    if not framework:
        return None
    flat = framework.replace("-", "").replace("_", "").lower()
    if flat in ("scikitlearn", "sklearn"):
        return SCIKITLEARN
    if flat == "onnx":
        return ONNX
    return framework


@dataclass(frozen=True)
class NoCodePlan:
    framework: str  # SCIKITLEARN | ONNX
    script: str  # source of the generated entry script
    curated_environment: str  # name of the curated environment that serves it


def plan_no_code(models: list[dict[str, Any]], curated: dict[str, str]) -> NoCodePlan:
    """Check the no-code rule for ``models`` (Model JSON) and generate the entry script.

    ``curated`` maps SCIKITLEARN / ONNX to the curated environment names that serve them.
    """
    if len(models) != 1:
        raise UserError(
            "You must provide an InferenceConfig when deploying zero or multiple models"
        )
    model = models[0]
    framework = canonical_framework(model.get("framework"))
    if framework not in (SCIKITLEARN, ONNX):
        raise UserError(
            "You must provide an InferenceConfig when deploying a model with model_framework "
            f"set to {model.get('framework') or 'None'}; no-code deployment supports "
            "ScikitLearn and Onnx models."
        )
    files = model.get("files") or []
    root = str(model.get("modelRoot") or "")
    relpaths = [str(f["path"]) for f in files]
    if framework == SCIKITLEARN:
        candidates = [p for p in relpaths if p.endswith((".pkl", ".pickle", ".joblib", ".sav"))]
        method = str((model.get("properties") or {}).get(METHOD_PROPERTY, "predict"))
        if method not in ALLOWED_METHODS:
            raise UserError(
                f"Model property '{METHOD_PROPERTY}' is '{method}'; allowed: "
                + ", ".join(ALLOWED_METHODS)
            )
        script = _SKLEARN_SCRIPT.format(
            model_file=repr(_pick(candidates or relpaths, root, "scikit-learn")),
            method=repr(method),
            allowed=repr(ALLOWED_METHODS),
        )
    else:
        candidates = [p for p in relpaths if p.endswith(".onnx")]
        script = _ONNX_SCRIPT.format(model_file=repr(_pick(candidates or relpaths, root, "ONNX")))
    return NoCodePlan(framework, script, curated[framework])


def _pick(paths: list[str], root: str, kind: str) -> str:
    if len(paths) != 1:
        raise UserError(
            f"No-code deployment needs exactly one {kind} model file in model '{root}', "
            f"found {len(paths)}; provide an InferenceConfig instead."
        )
    return paths[0]


# The model file path is relative to AZUREML_MODEL_DIR (= azureml-models/<name>/<version>).
_SKLEARN_SCRIPT = '''"""Built-in scoring script for a scikit-learn model (modelport no-code deployment)."""
import json
import os
import pickle

import numpy as np

MODEL_FILE = {model_file}
DEFAULT_METHOD = {method}
ALLOWED = {allowed}
model = None


def init():
    global model
    path = os.path.join(os.environ["AZUREML_MODEL_DIR"], MODEL_FILE)
    try:
        import joblib

        model = joblib.load(path)
    except Exception:
        with open(path, "rb") as f:
            model = pickle.load(f)


def run(raw_data):
    body = json.loads(raw_data)
    method = body.get("method", DEFAULT_METHOD) if isinstance(body, dict) else DEFAULT_METHOD
    data = body["data"] if isinstance(body, dict) else body
    if method not in ALLOWED or not hasattr(model, method):
        return {{"error": "method %r is not available on this model" % (method,)}}
    result = getattr(model, method)(np.asarray(data))
    return result.tolist() if hasattr(result, "tolist") else result
'''

_ONNX_SCRIPT = '''"""Built-in scoring script for an ONNX model (modelport no-code deployment)."""
import json
import os

import numpy as np
import onnxruntime

MODEL_FILE = {model_file}
session = None

_DTYPES = {{"tensor(float)": np.float32, "tensor(double)": np.float64,
           "tensor(int64)": np.int64, "tensor(int32)": np.int32, "tensor(string)": np.str_}}


def init():
    global session
    path = os.path.join(os.environ["AZUREML_MODEL_DIR"], MODEL_FILE)
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])


def _plain(value):
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {{str(k): _plain(v) for k, v in value.items()}}
    return value


def run(raw_data):
    body = json.loads(raw_data)
    data = body["data"] if isinstance(body, dict) and "data" in body else body
    inputs = session.get_inputs()
    if isinstance(data, dict):
        feeds = {{i.name: np.asarray(data[i.name], dtype=_DTYPES.get(i.type)) for i in inputs}}
    else:
        feeds = {{inputs[0].name: np.asarray(data, dtype=_DTYPES.get(inputs[0].type))}}
    outputs = session.run(None, feeds)
    names = [o.name for o in session.get_outputs()]
    return {{name: _plain(value) for name, value in zip(names, outputs)}}
'''
