"""Swagger 2.0 / OpenAPI 3.0 / 3.1 documents for /swagger.json (reference spec 1.6)."""

from __future__ import annotations

import copy
import os
from typing import Any

import orjson

from modelport.serving.entry_script import EntryScript, schema_util_for

VERSIONS = {"2": "2.0", "2.0": "2.0", "3": "3.0", "3.0": "3.0", "3.1": "3.1"}
USER_FILES = {
    "2.0": ("swagger.json", "swagger2.json"),
    "3.0": ("swagger3.json",),
    "3.1": ("swagger3.1.json",),
}
ERROR_SCHEMA = {"type": "object", "properties": {"message": {"type": "string"}}}
UNDECORATED = {"type": "object", "example": {}}


class SwaggerError(Exception):
    """404 with this message."""


def _schemas(script: EntryScript | None) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    util = schema_util_for(script.run) if script is not None else None
    if script is None or util is None:
        return dict(UNDECORATED), dict(UNDECORATED), ["2.0", "3.0", "3.1"]
    inp = copy.deepcopy(util.get_input_schema(script.run))
    out = copy.deepcopy(util.get_output_schema(script.run))
    return inp, out, list(util.get_supported_versions(script.run))


def _paths(prefix: str, version: str, ref: str) -> dict[str, Any]:
    base = f"/{prefix.strip('/')}" if prefix.strip("/") else ""
    body: dict[str, Any]
    ok: dict[str, Any]
    err: dict[str, Any]
    if version == "2.0":
        params = [
            {
                "name": "serviceInputPayload",
                "in": "body",
                "description": "The input payload for executing the real-time machine learning service.",
                "schema": {"$ref": f"{ref}ServiceInput"},
            }
        ]
        body = {"parameters": params}
        ok = {
            "description": "The service processed the input correctly and provided a result prediction, if applicable.",
            "schema": {"$ref": f"{ref}ServiceOutput"},
        }
        err = {
            "description": "The service failed to execute due to an error.",
            "schema": {"$ref": f"{ref}ErrorResponse"},
        }
        swagger_params = [
            {
                "name": "version",
                "in": "query",
                "required": False,
                "type": "string",
                "enum": ["2", "3", "3.1"],
            }
        ]
        health_ok: dict[str, Any] = {
            "description": "If service is healthy",
            "schema": {"type": "string"},
        }
        swag_ok: dict[str, Any] = {
            "description": "The swagger document of the service",
            "schema": {"type": "object"},
        }
    else:
        body = {
            "requestBody": {
                "description": "The input payload for executing the real-time machine learning service.",
                "content": {"application/json": {"schema": {"$ref": f"{ref}ServiceInput"}}},
            }
        }
        ok = {
            "description": "The service processed the input correctly and provided a result prediction, if applicable.",
            "content": {"application/json": {"schema": {"$ref": f"{ref}ServiceOutput"}}},
        }
        err = {
            "description": "The service failed to execute due to an error.",
            "content": {"application/json": {"schema": {"$ref": f"{ref}ErrorResponse"}}},
        }
        swagger_params = [
            {
                "name": "version",
                "in": "query",
                "required": False,
                "schema": {"type": "string", "enum": ["2", "3", "3.1"]},
            }
        ]
        health_ok = {
            "description": "If service is healthy",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        }
        swag_ok = {
            "description": "The swagger document of the service",
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    return {
        f"{base}/": {"get": {"operationId": "ServiceHealthCheck", "description": "Simple health check endpoint to ensure the service is up at any given point.", "responses": {"200": health_ok, "default": err}}},
        f"{base}/score": {"post": {"operationId": "RunMLService", "description": "Run web service's model and get the prediction output", "security": [{"Bearer": []}], **body, "responses": {"200": ok, "default": err}}},
        f"{base}/swagger.json": {"get": {"operationId": "GetSwaggerSpec", "description": "Get the Swagger specification.", "parameters": swagger_params, "responses": {"200": swag_ok, "default": err}}},
    }  # fmt: skip


def generate(
    script: EntryScript | None, version: str, name: str, service_version: str, prefix: str
) -> dict[str, Any]:
    inp, out, supported = _schemas(script)
    if version not in supported:
        raise SwaggerError(f"Swagger version [{version}] is not supported for the scoring script.")
    info = {
        "title": name,
        "description": f"API specification for the Azure Machine Learning service {name}",
        "version": service_version,
    }
    definitions = {"ServiceInput": inp, "ServiceOutput": out, "ErrorResponse": ERROR_SCHEMA}
    if version == "2.0":
        return {
            "swagger": "2.0", "info": info, "schemes": ["https"], "consumes": ["application/json"], "produces": ["application/json"],
            "securityDefinitions": {"Bearer": {"type": "apiKey", "name": "Authorization", "in": "header", "description": "For example: Bearer abc123"}},
            "paths": _paths(prefix, version, "#/definitions/"), "definitions": definitions,
        }  # fmt: skip
    return {
        "openapi": "3.1.0" if version == "3.1" else "3.0.3", "info": info,
        "servers": [{"url": "/"}],
        "paths": _paths(prefix, version, "#/components/schemas/"),
        "components": {"securitySchemes": {"Bearer": {"type": "apiKey", "name": "Authorization", "in": "header", "description": "For example: Bearer abc123"}}, "schemas": definitions},
    }  # fmt: skip


class SwaggerDocs:
    """Answers for /swagger.json, built once per version (user files read at first request)."""

    def __init__(
        self,
        script: EntryScript | None,
        dirs: list[str],
        name: str,
        service_version: str,
        prefix: str,
    ) -> None:
        self.script = script
        self.dirs = dirs
        self.name, self.service_version, self.prefix = name, service_version, prefix
        self._cache: dict[str, bytes] = {}

    def get(self, requested: str | None) -> bytes:
        raw = requested or "2"
        version = VERSIONS.get(raw)
        if version is None:
            raise SwaggerError(
                f"Swagger version [{raw}] is not valid. Supported versions: {sorted(set(VERSIONS))}"
            )
        if version not in self._cache:
            self._cache[version] = self._build(version)
        return self._cache[version]

    def _build(self, version: str) -> bytes:
        for d in self.dirs:
            for fname in USER_FILES[version]:
                path = os.path.join(d, fname)
                if os.path.isfile(path):
                    with open(path, "rb") as f:
                        data = f.read()
                    orjson.loads(data)  # a broken user file is a 500 with the reason in the log
                    return data
        return orjson.dumps(
            generate(self.script, version, self.name, self.service_version, self.prefix)
        )
