"""Value objects shared by the SDK, the CLI and the workspace server: deployment and inference
configuration, service names. Pure data and validation: no I/O beyond reading config files."""

from __future__ import annotations

from modelport.specs.deployment import (
    DeploymentConfig,
    normalize_compute_type,
    parse_deployment_config,
)
from modelport.specs.errors import ConfigError, ConfigWarning
from modelport.specs.fields import (
    ACI,
    AKS,
    COMPUTE_TYPES,
    FIELDS,
    KUBERNETES,
    LOCAL,
    Field,
    Support,
)
from modelport.specs.files import load_deployment_config, load_inference_config, read_config_file
from modelport.specs.inference import InferenceSpec, build_inference_spec, parse_inference_config
from modelport.specs.names import SERVICE_NAME_PATTERN, validate_service_name

__all__ = [
    "ACI",
    "AKS",
    "COMPUTE_TYPES",
    "FIELDS",
    "KUBERNETES",
    "LOCAL",
    "SERVICE_NAME_PATTERN",
    "ConfigError",
    "ConfigWarning",
    "DeploymentConfig",
    "Field",
    "InferenceSpec",
    "Support",
    "build_inference_spec",
    "load_deployment_config",
    "load_inference_config",
    "normalize_compute_type",
    "parse_deployment_config",
    "parse_inference_config",
    "read_config_file",
    "validate_service_name",
]
