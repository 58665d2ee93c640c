"""Curated, read-only environments under their Azure ML v1 names.

The v1 images pinned Python 3.7 and 2021-era packages that have no wheels for the interpreters
modelport runs on; the same names here map to current package sets that install (see
docs/environments.md for what differs). Versions are pinned so every build of a curated
environment is the same.
"""

from __future__ import annotations

from modelport.environments.spec import EnvironmentSpec
from modelport.errors import NotFound

_SKLEARN = (
    "scikit-learn==1.9.1",
    "numpy==2.4.6",
    "scipy==1.17.1",
    "joblib==1.6.0",
    "pandas==3.1.1",
    "inference-schema[numpy-support]==1.8",
)
_ONNX = ("onnxruntime==1.32.0", "numpy==2.4.6", "inference-schema[numpy-support]==1.8")

_CURATED: dict[str, tuple[str, ...]] = {
    "AzureML-Minimal": (),
    "AzureML-minimal-ubuntu18.04-py37-cpu-inference": (),
    "AzureML-sklearn-0.24.1-ubuntu18.04-py37-cpu-inference": _SKLEARN,
    "AzureML-onnxruntime-1.6-ubuntu18.04-py37-cpu-inference": _ONNX,
}
CURATED_VERSION = "1"


def curated_names() -> list[str]:
    return sorted(_CURATED, key=str.lower)


def is_curated(name: str) -> bool:
    return _lookup(name) is not None


def get_curated(name: str, version: str | None = None) -> EnvironmentSpec:
    """The curated environment called ``name`` (case-insensitive, as in v1); NotFound otherwise."""
    key = _lookup(name)
    if key is None or version not in (None, "latest", CURATED_VERSION):
        shown = name if version in (None, "latest") else f"{name} version {version}"
        raise NotFound(
            f"Curated environment {shown!r} does not exist; curated ones are: "
            + ", ".join(curated_names())
        )
    return EnvironmentSpec(
        name=key,
        version=CURATED_VERSION,
        pip_packages=_CURATED[key],
        environment_variables={},
        channels=("conda-forge",),
    )


def all_curated() -> list[EnvironmentSpec]:
    return [get_curated(n) for n in curated_names()]


def _lookup(name: str) -> str | None:
    lowered = name.lower()
    for key in _CURATED:
        if key.lower() == lowered:
            return key
    return None
