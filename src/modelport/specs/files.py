"""Reading v1 configuration files (JSON or YAML) into validated value objects."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import yaml

from modelport.specs.deployment import DeploymentConfig, parse_deployment_config
from modelport.specs.errors import ConfigError
from modelport.specs.inference import InferenceSpec, parse_inference_config


def read_config_file(path: str | os.PathLike[str]) -> Any:
    """Parse a JSON or YAML file; ``.json`` must be JSON, anything else may be either."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError([f"file {file} does not exist"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"cannot read {file}: {exc}"]) from None
    if file.suffix.lower() == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            where = f"line {exc.lineno} column {exc.colno}"
            raise ConfigError([f"not valid JSON: {where}: {exc.msg}"], str(file)) from None
    try:
        return yaml.safe_load(text)  # YAML is a superset of JSON
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError([f"not valid JSON or YAML: {where}{problem}"], str(file)) from None


def with_compute_type(data: Any, compute_type: str) -> Any:
    """``data`` with ``computeType`` set when it names none (a miscased key is left to the
    parser, which answers it with a did-you-mean)."""
    if isinstance(data, dict) and not any(str(key).lower() == "computetype" for key in data):
        return {"computeType": compute_type, **data}
    return data


def load_deployment_config(
    path: str | os.PathLike[str], compute_type: str | None = None
) -> DeploymentConfig:
    """Relative ``sslCertificate``/``sslKey`` paths start at the file's folder.

    ``compute_type``: the computeType of a file that names none, e.g. an update's partial file
    (``{"numReplicas": 2}``) that is laid over the service's current configuration.
    """
    data = read_config_file(path)
    if compute_type is not None:
        data = with_compute_type(data, compute_type)
    config = parse_deployment_config(data, str(path))
    folder = Path(path).resolve().parent
    explicit = dict(config.explicit)
    for name in ("ssl_cert_pem_file", "ssl_key_pem_file"):
        value = explicit.get(name)
        if isinstance(value, str) and not value.lstrip().startswith("-----BEGIN"):
            explicit[name] = str(folder / Path(value).expanduser())
    return dataclasses.replace(config, explicit=explicit)


def load_inference_config(path: str | os.PathLike[str]) -> InferenceSpec:
    """Relative paths in the file start at the file's folder, else at the working directory."""
    folder = Path(path).resolve().parent
    return parse_inference_config(read_config_file(path), str(path), (folder, Path.cwd()))
