"""The JSON shape of an Azure IoT Edge deployment manifest (``$edgeAgent`` / ``$edgeHub`` schema 1.1),
written from the published schemas of the azure-iot CLI extension (edgeAgent deployment 1.0/1.1,
edgeHub deployment 1.1): required keys, enums, name patterns, and createOptions as JSON strings."""

from __future__ import annotations

from typing import Any

_ENV = {
    "type": "object",
    "patternProperties": {
        r"^[^\+#$\s\.]+$": {
            "type": "object",
            "required": ["value"],
            "properties": {"value": {"type": ["number", "string", "boolean"]}},
        }
    },
    "additionalProperties": False,
}
_SETTINGS = {
    "type": "object",
    "required": ["image"],
    "properties": {
        "image": {"type": "string", "minLength": 1},
        "createOptions": {"type": "string"},
    },
}
_TYPE = {"enum": ["docker"]}
_STATUS = {"enum": ["running", "stopped"]}
_RESTART = {"enum": ["never", "on-failure", "on-unhealthy", "always"]}
_MODULE = {
    "type": "object",
    "required": ["type", "status", "restartPolicy", "settings"],
    "properties": {
        "version": {"type": "string"},
        "type": _TYPE,
        "status": _STATUS,
        "restartPolicy": _RESTART,
        "env": _ENV,
        "settings": _SETTINGS,
    },
}

SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "required": ["modulesContent"],
    "additionalProperties": False,
    "properties": {
        "modulesContent": {
            "type": "object",
            "required": ["$edgeAgent", "$edgeHub"],
            "properties": {
                "$edgeAgent": {
                    "type": "object",
                    "required": ["properties.desired"],
                    "additionalProperties": False,
                    "properties": {
                        "properties.desired": {
                            "type": "object",
                            "required": ["schemaVersion", "runtime", "systemModules", "modules"],
                            "properties": {
                                "schemaVersion": {"enum": ["1.0", "1.1"]},
                                "runtime": {
                                    "type": "object",
                                    "required": ["type", "settings"],
                                    "properties": {
                                        "type": _TYPE,
                                        "settings": {
                                            "type": "object",
                                            "properties": {
                                                "minDockerVersion": {"type": "string"},
                                                "loggingOptions": {"type": "string"},
                                                "registryCredentials": {
                                                    "type": "object",
                                                    "patternProperties": {
                                                        "^.+$": {
                                                            "type": "object",
                                                            "required": [
                                                                "username",
                                                                "password",
                                                                "address",
                                                            ],
                                                            "properties": {
                                                                "username": {"type": "string"},
                                                                "password": {"type": "string"},
                                                                "address": {
                                                                    "type": "string",
                                                                    "pattern": r"^[^\s]+$",
                                                                },
                                                            },
                                                        }
                                                    },
                                                    "additionalProperties": False,
                                                },
                                            },
                                        },
                                    },
                                },
                                "systemModules": {
                                    "type": "object",
                                    "required": ["edgeAgent", "edgeHub"],
                                    "additionalProperties": False,
                                    "properties": {
                                        "edgeAgent": {
                                            "type": "object",
                                            "required": ["type", "settings"],
                                            "properties": {
                                                "type": _TYPE,
                                                "settings": _SETTINGS,
                                                "env": _ENV,
                                            },
                                        },
                                        "edgeHub": {
                                            "type": "object",
                                            "required": [
                                                "type",
                                                "settings",
                                                "status",
                                                "restartPolicy",
                                            ],
                                            "properties": {
                                                "type": _TYPE,
                                                "settings": _SETTINGS,
                                                "env": _ENV,
                                                "status": _STATUS,
                                                "restartPolicy": _RESTART,
                                            },
                                        },
                                    },
                                },
                                "modules": {
                                    "type": "object",
                                    "patternProperties": {"^[a-zA-Z0-9_-]+$": _MODULE},
                                    "additionalProperties": False,
                                },
                            },
                        }
                    },
                },
                "$edgeHub": {
                    "type": "object",
                    "required": ["properties.desired"],
                    "additionalProperties": False,
                    "properties": {
                        "properties.desired": {
                            "type": "object",
                            "required": ["schemaVersion", "routes"],
                            "additionalProperties": False,
                            "properties": {
                                "schemaVersion": {"enum": ["1.1"]},
                                "routes": {
                                    "type": "object",
                                    "patternProperties": {
                                        r"^[^\.\$# ]+$": {
                                            "anyOf": [
                                                {"type": "string", "pattern": "^.+$"},
                                                {
                                                    "type": "object",
                                                    "required": ["route"],
                                                    "properties": {
                                                        "route": {"type": "string"},
                                                        "priority": {
                                                            "type": "integer",
                                                            "minimum": 0,
                                                            "maximum": 9,
                                                        },
                                                        "timeToLiveSecs": {
                                                            "type": "integer",
                                                            "minimum": 0,
                                                        },
                                                    },
                                                    "additionalProperties": False,
                                                },
                                            ]
                                        }
                                    },
                                    "additionalProperties": False,
                                },
                                "storeAndForwardConfiguration": {
                                    "type": "object",
                                    "required": ["timeToLiveSecs"],
                                    "properties": {"timeToLiveSecs": {"type": "integer"}},
                                    "additionalProperties": False,
                                },
                            },
                        }
                    },
                },
            },
            # other modules' twins: {"properties.desired": {...}}
            "additionalProperties": {
                "type": "object",
                "required": ["properties.desired"],
                "additionalProperties": False,
                "properties": {"properties.desired": {"type": "object"}},
            },
        }
    },
}
