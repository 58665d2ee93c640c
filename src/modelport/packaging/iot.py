"""Azure IoT Edge deployment manifests for a package image, from a v1 ``computeType: "IOT"`` config.

v1 deployed to IoT Edge through IoT Hub: the model's image became a module of a device's
deployment manifest (reference spec 1.7 and 5.2). modelport writes that manifest (schema 1.1 of
``$edgeAgent`` and ``$edgeHub``) and contacts no IoT Hub: apply it with
``az iot edge set-modules --hub-name HUB --device-id DEVICE --content FILE``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from modelport.errors import UserError
from modelport.packaging.dockerfile import PORT
from modelport.specs.errors import unknown_key_message

COMPUTE_TYPE = "IOT"
KEYS = ("computeType", "amlModule", "externalModules", "routes", "iotDeviceId", "acrCredentials")
AML_MODULE_KEYS = ("moduleName", "createOptions", "environmentVariables", "propertiesDesired")
EXTERNAL_KEYS = (
    "moduleName", "imageLocation", "environmentVariables", "createOptions", "propertiesDesired",
)  # fmt: skip
CREDENTIAL_KEYS = ("location", "user", "password")
SCHEMA_VERSION = "1.1"
EDGE_RUNTIME = "1.5"  # IoT Edge 1.5 LTS images of the system modules
MODULE_NAME = re.compile(r"^[a-zA-Z0-9_-]+$")
ENV_NAME = re.compile(r"^[^+#$\s.]+$")
ROUTE_NAME = re.compile(r"^[^.$# ]+$")
# v1's images were published on 5001; the module maps it on the device unless createOptions say else
DEFAULT_CREATE_OPTIONS = {
    "HostConfig": {"PortBindings": {f"{PORT}/tcp": [{"HostPort": str(PORT)}]}}
}


@dataclass(frozen=True)
class Module:
    name: str
    image: str
    env: Mapping[str, Any] = field(default_factory=dict)
    create_options: Mapping[str, Any] | None = None
    properties_desired: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class IotConfig:
    aml_module: Module  # its image is filled from the package
    device_id: str
    routes: Mapping[str, Any]
    external: tuple[Module, ...] = ()
    credentials: tuple[Mapping[str, str], ...] = ()


def _obj(value: Any, where: str, keys: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise UserError(f"{where} must be a JSON object")
    unknown = [k for k in value if k not in keys]
    if unknown:
        raise UserError("; ".join(unknown_key_message(k, keys, where) for k in unknown))
    return value


def _module(data: Any, where: str, keys: tuple[str, ...], image: str | None) -> Module:
    data = _obj(data, where, keys)
    name = data.get("moduleName")
    if not isinstance(name, str) or not MODULE_NAME.match(name):
        raise UserError(f"{where}.moduleName is required: letters, digits, '-' and '_'")
    if image is None:
        image = data.get("imageLocation")
        if not isinstance(image, str) or not image.strip():
            raise UserError(f"{where}.imageLocation is required (the module's image)")
    env = data.get("environmentVariables") or {}
    if not isinstance(env, dict) or not all(ENV_NAME.match(str(k)) for k in env):
        raise UserError(
            f"{where}.environmentVariables must map names (no '.', '$', '#', '+', spaces) to values"
        )
    options = data.get("createOptions")
    if isinstance(options, str):
        try:
            options = json.loads(options)
        except ValueError:
            raise UserError(f"{where}.createOptions is not valid JSON") from None
    if options is not None and not isinstance(options, dict):
        raise UserError(f"{where}.createOptions must be a JSON object (Docker create options)")
    desired = data.get("propertiesDesired")
    if desired is not None and not isinstance(desired, dict):
        raise UserError(f"{where}.propertiesDesired must be a JSON object")
    return Module(name, image, dict(env), options, desired)


def parse_iot_config(data: Any, where: str = "deploymentConfig") -> IotConfig:
    """Validate a v1 IoT deployment config (every rule of reference spec 1.7)."""
    data = _obj(data, where, KEYS)
    if str(data.get("computeType", "")).upper() != COMPUTE_TYPE:
        raise UserError(f'{where}: computeType must be "IOT" for an IoT Edge manifest')
    aml = _module(data.get("amlModule"), f"{where}.amlModule", AML_MODULE_KEYS, image="")
    device = data.get("iotDeviceId")
    if not isinstance(device, str) or not device.strip():
        raise UserError(f"{where}.iotDeviceId is required (the IoT Edge device)")
    routes = data.get("routes")
    if not isinstance(routes, dict) or not routes:
        raise UserError(f'{where}.routes is required: {{"name": "FROM ... INTO ..."}}')
    for name, route in routes.items():
        if not ROUTE_NAME.match(name) or not isinstance(route, str | dict):
            raise UserError(
                f"{where}.routes: {name!r} must be a name without '.', '$', '#', spaces and a route string"
            )
    external_data = data.get("externalModules") or []
    if not isinstance(external_data, list):
        raise UserError(f"{where}.externalModules must be a list")
    external = tuple(
        _module(m, f"{where}.externalModules[{i}]", EXTERNAL_KEYS, None)
        for i, m in enumerate(external_data)
    )
    names = [aml.name, *(m.name for m in external)]
    if len(set(names)) != len(names):
        raise UserError(f"{where}: module names must be unique, got {names}")
    creds = []
    for i, c in enumerate(data.get("acrCredentials") or []):
        c = _obj(c, f"{where}.acrCredentials[{i}]", CREDENTIAL_KEYS)
        if not all(isinstance(c.get(k), str) and c.get(k) for k in CREDENTIAL_KEYS):
            raise UserError(f"{where}.acrCredentials[{i}] needs location, user and password")
        creds.append(dict(c))
    return IotConfig(aml, device.strip(), dict(routes), external, tuple(creds))


def _module_json(module: Module, options: Mapping[str, Any] | None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "version": "1.0",
        "type": "docker",
        "status": "running",
        "restartPolicy": "always",
        "settings": {"image": module.image},
    }
    if options is not None:
        out["settings"]["createOptions"] = json.dumps(options, separators=(",", ":"))
    if module.env:
        out["env"] = {str(k): {"value": v} for k, v in module.env.items()}
    return out


def manifest(config: IotConfig, image: str) -> dict[str, Any]:
    """The deployment manifest (``{"modulesContent": ...}``) running ``image`` as the AML module."""
    aml = Module(
        config.aml_module.name, image, config.aml_module.env,
        config.aml_module.create_options, config.aml_module.properties_desired,
    )  # fmt: skip
    modules = {aml.name: _module_json(aml, aml.create_options or DEFAULT_CREATE_OPTIONS)}
    for m in config.external:
        modules[m.name] = _module_json(m, m.create_options)
    registries = {
        re.sub(r"[^A-Za-z0-9_-]", "_", c["location"]): {
            "username": c["user"], "password": c["password"], "address": c["location"],
        }
        for c in config.credentials
    }  # fmt: skip
    settings: dict[str, Any] = {"minDockerVersion": "v1.25", "loggingOptions": ""}
    if registries:
        settings["registryCredentials"] = registries
    hub_ports = {p: [{"HostPort": p.split("/")[0]}] for p in ("5671/tcp", "8883/tcp", "443/tcp")}
    content: dict[str, Any] = {
        "$edgeAgent": {
            "properties.desired": {
                "schemaVersion": SCHEMA_VERSION,
                "runtime": {"type": "docker", "settings": settings},
                "systemModules": {
                    "edgeAgent": {
                        "type": "docker",
                        "settings": {
                            "image": f"mcr.microsoft.com/azureiotedge-agent:{EDGE_RUNTIME}"
                        },
                    },
                    "edgeHub": {
                        "type": "docker",
                        "status": "running",
                        "restartPolicy": "always",
                        "settings": {
                            "image": f"mcr.microsoft.com/azureiotedge-hub:{EDGE_RUNTIME}",
                            "createOptions": json.dumps(
                                {"HostConfig": {"PortBindings": hub_ports}}, separators=(",", ":")
                            ),
                        },
                    },
                },
                "modules": modules,
            }
        },
        "$edgeHub": {
            "properties.desired": {
                "schemaVersion": SCHEMA_VERSION,
                "routes": dict(config.routes),
                "storeAndForwardConfiguration": {"timeToLiveSecs": 7200},
            }
        },
    }
    for m in (aml, *config.external):
        if m.properties_desired is not None:
            content[m.name] = {"properties.desired": dict(m.properties_desired)}
    return {"modulesContent": content}


def apply_hint(config: IotConfig, path: str) -> str:
    return (
        f"Apply it with: az iot edge set-modules --hub-name <HUB> --device-id "
        f"{config.device_id} --content {path}"
    )
