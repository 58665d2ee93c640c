"""``Webservice.update``: the PATCH body for what the caller changes (everything else is kept)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from modelport.errors import UserError

if TYPE_CHECKING:
    from modelport.sdk.model import Model
    from modelport.sdk.webservice import Webservice


def update_body(
    service: Webservice,
    models: Sequence[Model | str] | None,
    inference_config: Any,
    deployment_config: Any,
    tags: Mapping[str, str] | None,
    properties: Mapping[str, str] | None,
    description: str | None,
    environment: Any,
    show_output: bool,
    config_fields: dict[str, Any],
) -> dict[str, Any]:
    """The changed fields; a new source snapshot is uploaded here. Nothing to change: UserError."""
    from modelport.sdk import deploy

    for legacy in ("image", "image_config"):
        if config_fields.pop(legacy, None) is not None:
            raise UserError(f"{legacy} is not supported: modelport builds no images.")
    body: dict[str, Any] = {}
    if models is not None:
        body["models"] = deploy.model_refs(service.workspace, models)
    spec = deploy.resolve_inference_config(inference_config)
    if spec is not None:
        source = deploy._source_part(service.workspace, spec, show_output=show_output)
        body["inferenceConfig"] = source["inferenceConfig"]
        body["sourceSnapshot"] = source["sourceSnapshot"]
        properties = {**(properties or {}), **source["_properties"]}
    env = deploy.resolve_environment(environment, spec, service.name)
    if env is not None:
        body["environment"] = env
    config = deploy.config_change(service.compute_type, deployment_config, config_fields)
    if config is not None:
        body["deploymentConfig"] = config
    if tags is not None:
        body["tags"] = {str(k): str(v) for k, v in tags.items()}
    if properties:
        body["properties"] = {str(k): str(v) for k, v in properties.items()}
    if description is not None:
        body["description"] = description
    if not body:
        raise UserError("No parameters provided to update.")
    return body
