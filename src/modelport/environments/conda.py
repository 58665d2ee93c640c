"""Conda environment specs: parse them and map conda packages to their PyPI equivalents.

modelport installs from PyPI with uv, so a conda package is accepted only when we know its PyPI
name. An unknown one is an error naming it (and saying to move it to the ``pip:`` section), never a
silent guess.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from modelport.errors import UserError

# conda name -> PyPI name; None means "nothing to install" (provided by the interpreter, by uv or
# bundled inside the PyPI wheels).
_TO_PYPI: dict[str, str | None] = {
    # tooling and native runtimes that wheels already bundle
    "pip": None,
    "wheel": None,
    "python_abi": None,
    "libgcc-ng": None,
    "libstdcxx-ng": None,
    "_libgcc_mutex": None,
    "mkl": None,
    "mkl-service": None,
    "nomkl": None,
    "blas": None,
    "openblas": None,
    "cpuonly": None,
    "ca-certificates": None,
    "certifi": "certifi",
    "openssl": None,
    # renamed on PyPI
    "pytorch": "torch",
    "pytorch-cpu": "torch",
    "py-xgboost": "xgboost",
    "py-xgboost-cpu": "xgboost",
    "py-lightgbm": "lightgbm",
    "py-opencv": "opencv-python-headless",
    "opencv": "opencv-python-headless",
    "tensorflow-cpu": "tensorflow-cpu",
    "tensorflow-mkl": "tensorflow",
    "pyyaml": "pyyaml",
    "yaml": None,
    "msgpack-python": "msgpack",
    "pillow": "pillow",
    "py-boost": None,
    "libprotobuf": None,
    "protobuf": "protobuf",
    "arrow-cpp": None,
    "pyarrow": "pyarrow",
}
# Same name on conda and PyPI.
_SAME_NAME_WORDS = """
    numpy scipy pandas scikit-learn scikit-image joblib matplotlib seaborn statsmodels xgboost
    lightgbm catboost tensorflow keras torchvision torchaudio onnx onnxruntime skl2onnx
    onnxmltools transformers tokenizers nltk spacy gensim requests flask six setuptools cython
    numba h5py tqdm click psutil cloudpickle dill sympy networkx pytz python-dateutil tzdata
    packaging attrs jinja2 markupsafe urllib3 idna chardet charset-normalizer pydantic orjson
    ujson simplejson sqlalchemy boto3 botocore s3fs fsspec pyodbc lxml beautifulsoup4 regex
    sentencepiece imbalanced-learn shap mlflow tabulate toolz cytoolz threadpoolctl
    typing-extensions typing_extensions wrapt decorator absl-py opt-einsum gast astunparse
    termcolor grpcio pyparsing cycler kiwisolver fonttools dask distributed xarray numexpr
    bottleneck tables openpyxl xlrd pyjwt cryptography cffi pycparser filelock huggingface_hub
    huggingface-hub safetensors accelerate datasets pyspark plotly bokeh inference-schema
    azureml-defaults azureml-core
"""
_SAME_NAME = frozenset(_SAME_NAME_WORDS.split())
for _n in _SAME_NAME:
    _TO_PYPI.setdefault(_n, _n)

# "python=3.6.2", "conda-forge::numpy>=1.19", "numpy 1.19.*", "pytorch=1.7.1=py3.7_cpu_0"
_SPEC_RE = re.compile(r"^(?:(?P<channel>[^:\s]+)::)?(?P<name>[A-Za-z0-9_.\-]+)\s*(?P<rest>.*)$")


@dataclass(frozen=True)
class CondaDependencies:
    """The parsed ``condaDependencies`` block: conda specs as written, pip lines, python pin."""

    name: str
    channels: tuple[str, ...]
    conda: tuple[str, ...]
    pip: tuple[str, ...]
    python: str | None


def parse_conda_dependencies(doc: Any, source: str = "conda specification") -> CondaDependencies:
    """Parse a conda environment dict (``name``, ``channels``, ``dependencies``)."""
    if not isinstance(doc, dict):
        raise UserError(f"The {source} must be a mapping with a 'dependencies' list.")
    deps = doc.get("dependencies") or []
    if not isinstance(deps, list):
        raise UserError(f"'dependencies' in the {source} must be a list.")
    channels = doc.get("channels") or []
    if not isinstance(channels, list):
        raise UserError(f"'channels' in the {source} must be a list.")
    conda: list[str] = []
    pip: list[str] = []
    python: str | None = None
    for dep in deps:
        if isinstance(dep, dict):
            for key, value in dep.items():
                if key != "pip":
                    raise UserError(f"Unsupported entry {key!r} in the {source}'s dependencies.")
                if not isinstance(value, list):
                    raise UserError(f"The 'pip' section of the {source} must be a list.")
                pip.extend(str(v).strip() for v in value if str(v).strip())
            continue
        text = str(dep).strip()
        if not text:
            continue
        name, _, version = split_conda_spec(text)
        if name == "python":
            python = _python_pin(version, text)
            continue
        conda.append(text)
    return CondaDependencies(
        name=str(doc.get("name") or "project_environment"),
        channels=tuple(str(c) for c in channels),
        conda=tuple(conda),
        pip=tuple(pip),
        python=python,
    )


def load_conda_file(path: str | Path) -> CondaDependencies:
    p = Path(path)
    try:
        doc = yaml.safe_load(p.read_text(encoding="utf-8"))
    except OSError as e:
        raise UserError(f"Cannot read conda specification {p}: {e.strerror}") from None
    except yaml.YAMLError as e:
        raise UserError(f"Conda specification {p} is not valid YAML: {e}") from None
    return parse_conda_dependencies(doc, source=f"conda specification {p.name}")


def split_conda_spec(text: str) -> tuple[str, str, str]:
    """``'conda-forge::numpy=1.19=py37_0'`` -> ``('numpy', 'conda-forge', '=1.19')``."""
    m = _SPEC_RE.match(text.strip())
    if not m:
        raise UserError(f"Cannot read conda package spec {text!r}.")
    rest = m.group("rest").strip()
    # Drop the build string: "=1.7.1=py3.7_cpu_0" or "1.7.1 py3.7_cpu_0".
    if rest.startswith("=") and not rest.startswith("=="):
        rest = "=" + rest[1:].split("=", 1)[0]
    elif rest and rest[0].isdigit():
        rest = rest.split()[0]
    return m.group("name").lower(), m.group("channel") or "", rest


def _python_pin(version: str, text: str) -> str | None:
    """``=3.6.2``/``3.6``/``==3.6.*`` -> ``3.6.2``/``3.6``/``3.6``; ``>=3.8,<3.12`` kept as is."""
    v = version.strip()
    if not v:
        return None
    if v.startswith("=") or v[0].isdigit():
        v = v.lstrip("=").strip().removesuffix(".*").removesuffix("*")
        if re.fullmatch(r"\d+(\.\d+){0,2}", v):
            return v
    elif all(
        re.fullmatch(r"(>=|<=|>|<|!=|~=|==)\s*\d+(\.\d+){0,2}(\.\*)?", p.strip())
        for p in v.split(",")
    ):
        return v.replace(" ", "")
    raise UserError(f"Cannot read the python version pin {text!r}.")


def _conda_version_to_pep440(version: str) -> str:
    if not version:
        return ""
    if version.startswith("=") and not version.startswith("=="):
        v = version[1:]
        # conda "=1.19" is a prefix match; "=1.19.5" is effectively exact.
        return f"=={v}" if v.count(".") >= 2 or v.endswith("*") else f"=={v}.*"
    if version[0].isdigit():
        return f"=={version}"
    return version


def to_pypi(conda_specs: Iterable[str]) -> list[str]:
    """Map conda specs to PyPI requirement lines; error naming every package we cannot map."""
    return [r for r in to_pypi_each(conda_specs) if r is not None]


def to_pypi_each(conda_specs: Iterable[str]) -> list[str | None]:
    """One PyPI requirement (None: nothing to install) per conda spec, in order."""
    out: list[str | None] = []
    unknown: list[str] = []
    for text in conda_specs:
        name, _, version = split_conda_spec(text)
        if name == "python":
            out.append(None)
            continue
        if name not in _TO_PYPI:
            unknown.append(text)
            continue
        pypi = _TO_PYPI[name]
        out.append(None if pypi is None else pypi + _conda_version_to_pep440(version))
    if unknown:
        names = ", ".join(repr(u) for u in unknown)
        raise UserError(
            f"Conda package {names} has no known PyPI equivalent; modelport installs from PyPI. "
            "Move it to the 'pip:' section under its PyPI name, or drop it."
        )
    return out
