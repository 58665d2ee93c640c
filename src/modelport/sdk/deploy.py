"""``Model.deploy``: resolve the models and configs, upload the source snapshot, POST the service.

The configs are validated here, before anything is uploaded, with the same rules the server runs
(``modelport.specs``): a typo fails in a second with the key named, not after an upload.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelport.errors import UserError
from modelport.sdk import _snapshot
from modelport.sdk._http import seg
from modelport.specs import (
    LOCAL,
    DeploymentConfig,
    InferenceSpec,
    parse_deployment_config,
    validate_service_name,
)
from modelport.specs.inference import environment_json

if TYPE_CHECKING:
    from modelport.sdk.inference_config import InferenceConfig
    from modelport.sdk.model import Model
    from modelport.sdk.webservice import Webservice
    from modelport.sdk.workspace import Workspace


def deploy(
    workspace: Workspace,
    name: str,
    models: Sequence[Model | str] | None,
    inference_config: InferenceConfig | InferenceSpec | Mapping[str, Any] | None = None,
    deployment_config: DeploymentConfig | Mapping[str, Any] | None = None,
    deployment_target: Any = None,
    overwrite: bool = False,
    show_output: bool = False,
    *,
    environment: Any = None,
    tags: Mapping[str, str] | None = None,
    properties: Mapping[str, str] | None = None,
    description: str | None = None,
) -> Webservice:
    """Deploy ``models`` as the web service ``name`` and return it (state ``Transitioning``).

    Follow it with ``service.wait_for_deployment(show_output=True)``. ``models`` are Model
    objects, ``"name:version"`` ids (a bare name means its latest version) or local paths, which
    are registered first under the file's name. ``deployment_config`` defaults to a local service;
    ``environment`` (an Environment, its JSON or ``{"name", "version"}``) overrides the inference
    config's. ``deployment_target``: an attached Kubernetes target (``ComputeTarget``) for an
    AKS/kubernetes ``deployment_config``, as v1's AKS deployments took one.
    """
    from modelport.sdk.webservice import Webservice

    validate_service_name(name)
    config = resolve_deployment_config(deployment_config)
    if deployment_target is not None:
        from modelport.sdk.compute_target import with_deployment_target

        config = with_deployment_target(config, deployment_target)
    config_data = config_json(config)  # reads the TLS PEM files: a missing one stops here
    spec = resolve_inference_config(inference_config)
    env = resolve_environment(environment, spec, name)
    refs = model_refs(workspace, models or [], show_output=show_output)
    body: dict[str, Any] = {
        "name": name,
        "models": refs,
        "deploymentConfig": config_data,
        "overwrite": bool(overwrite),
    }
    body.update(_source_part(workspace, spec, show_output=show_output))
    if env is not None:
        body["environment"] = env
    merged_tags = {**config.tags, **(tags or {})}
    if merged_tags:
        body["tags"] = {str(k): str(v) for k, v in merged_tags.items()}
    props = {**config.properties, **(properties or {}), **body.pop("_properties", {})}
    if props:
        body["properties"] = {str(k): str(v) for k, v in props.items()}
    if description is None and spec is not None:
        description = spec.description
    if description is not None:
        body["description"] = description
    answer = workspace._client.post(f"/workspaces/{seg(workspace.name)}/services", body)
    service = Webservice._from_answer(workspace, answer)
    if show_output:
        print(
            f"Deploying service {name!r} (operation {service._operation_id}): "
            f"follow it with service.wait_for_deployment(show_output=True)",
            file=sys.stderr,
        )
    return service


# -- pieces shared with Webservice.update / reload and the CLI -------------------------------


def resolve_deployment_config(
    value: DeploymentConfig | Mapping[str, Any] | None,
) -> DeploymentConfig:
    """A DeploymentConfig from a factory result, a v1 JSON dict, or None (local, defaults)."""
    if value is None:
        return parse_deployment_config({"computeType": LOCAL}, "deployment_config")
    if isinstance(value, DeploymentConfig):
        return value
    if isinstance(value, Mapping):
        return parse_deployment_config(dict(value), "deployment_config")
    raise UserError(
        "deployment_config must come from LocalWebservice.deploy_configuration(...) or "
        f"AciWebservice.deploy_configuration(...), or be a v1 JSON dict; got {type(value).__name__}."
    )


def resolve_inference_config(value: Any) -> InferenceSpec | None:
    """The validated spec of an InferenceConfig (or of its v1 JSON dict); None for no-code."""
    if value is None or isinstance(value, InferenceSpec):
        return value
    if isinstance(value, Mapping):
        from modelport.specs import parse_inference_config

        return parse_inference_config(dict(value), "inference_config", (Path.cwd(),))
    spec = getattr(value, "spec", None)
    if isinstance(spec, InferenceSpec):
        return spec
    raise UserError(f"inference_config must be an InferenceConfig, got {type(value).__name__}.")


def resolve_environment(explicit: Any, spec: InferenceSpec | None, service: str) -> Any:
    """What goes in the request's ``environment``: JSON, a reference, or None (server default)."""
    if explicit is not None:
        return environment_payload(explicit)
    if spec is None:
        return None
    if spec.environment is not None:
        return environment_payload(spec.environment)
    conda = spec.conda_file_path
    if conda is not None:
        # v1: legacy parts without an environment become the environment "<service>-env".
        from modelport.environments.sources import from_conda_specification
        from modelport.environments.spec import to_azure_json

        return to_azure_json(from_conda_specification(f"{service}-env", conda))
    return None


def environment_payload(env: Any) -> Any:
    """An Environment object or JSON → the request form; curated names travel as references."""
    from modelport.environments.curated import is_curated

    if isinstance(env, str):
        return {"name": env, "version": None}
    doc = env if isinstance(env, Mapping) else environment_json(env)
    if not isinstance(doc, Mapping):
        raise UserError(
            f"environment must be an Environment or its JSON, got {type(env).__name__}."
        )
    name = doc.get("name")
    if isinstance(name, str) and is_curated(name) and _is_reference_or_pristine(doc):
        return {"name": name, "version": doc.get("version")}
    return dict(doc)


def _is_reference_or_pristine(doc: Mapping[str, Any]) -> bool:
    if set(doc) <= {"name", "version"}:
        return True
    from modelport.environments.curated import get_curated
    from modelport.environments.spec import from_azure_json

    try:
        return from_azure_json(dict(doc)).content_equal(get_curated(str(doc["name"])))
    except UserError:
        return False


def _source_part(
    workspace: Workspace, spec: InferenceSpec | None, *, show_output: bool
) -> dict[str, Any]:
    """``inferenceConfig`` (entry script relative to the snapshot) and ``sourceSnapshot``."""
    if spec is None:
        return {"inferenceConfig": None}
    files = _snapshot.upload_snapshot(workspace._client, workspace.name, spec)
    if show_output:
        size = sum(int(f["size"]) for f in files)
        print(f"Source snapshot: {len(files)} files, {size} bytes", file=sys.stderr)
    ic = inference_json(spec)
    return {
        "inferenceConfig": ic,
        "sourceSnapshot": {"files": files},
        "_properties": _snapshot.source_properties(spec),
    }


def inference_json(spec: InferenceSpec) -> dict[str, Any]:
    """The v1 JSON the server stores: paths relative to the snapshot, environment sent apart."""
    ic = spec.to_json()
    ic["entryScript"] = spec.entry_script_in_source
    for key in ("sourceDirectory", "environment", "condaFile"):
        ic.pop(key, None)
    return ic


_MODEL_ID = re.compile(r"^(?P<name>[^:]+):(?P<version>\d+)$")


def model_refs(
    workspace: Workspace, models: Iterable[Model | str], *, show_output: bool = False
) -> list[str]:
    """``"name:version"`` of each model; local paths are registered, bare names mean latest."""
    from modelport.sdk.model import Model

    if isinstance(models, str | Model):
        models = [models]
    refs: list[str] = []
    for item in models:
        if isinstance(item, Model):
            refs.append(item.id)
        elif not isinstance(item, str) or not item.strip():
            raise UserError(
                f"models must be Model objects or 'name:version' strings, not {item!r}."
            )
        elif _MODEL_ID.match(item) and not Path(item).exists():
            refs.append(item)
        elif Path(item).expanduser().exists():
            model = Model.register(workspace, item, _model_name_for(Path(item)))
            if show_output:
                print(f"Registered {item} as model {model.id}", file=sys.stderr)
            refs.append(model.id)
        elif ":" in item:
            raise UserError(
                f"Model reference {item!r} is not 'name:version' (the version is a number) "
                "nor a local path."
            )
        else:
            refs.append(Model(workspace, name=item).id)
    return refs


def _model_name_for(path: Path) -> str:
    """A valid model name from a file name (v1 registers local models under their file name)."""
    stem = path.expanduser().resolve().name
    name = re.sub(r"[^A-Za-z0-9\-._]", "-", stem).lstrip("-._") or "model"
    return name[:255]


def config_change(compute_type: str, config: Any, fields: Mapping[str, Any]) -> Any:
    """The ``deploymentConfig`` of an update: a config object/JSON, or named fields of one."""
    from modelport.specs.deployment import build_from_params, normalize_compute_type

    if config is not None and fields:
        raise UserError("Give either deployment_config or individual settings, not both.")
    if config is not None:
        if isinstance(config, Mapping):  # a partial dict lays over the service's own config
            from modelport.specs.files import with_compute_type

            config = with_compute_type(dict(config), compute_type)
        return config_json(resolve_deployment_config(config))
    given = {k: v for k, v in fields.items() if v is not None}
    if not given:
        return None
    return config_json(build_from_params(normalize_compute_type(compute_type), given))


# deployment-config JSON key -> what it names, for the TLS files the client reads
_PEM_KEYS = {"sslCertificate": "certificate", "sslKey": "private key"}


def config_json(config: DeploymentConfig) -> dict[str, Any]:
    """The request's ``deploymentConfig``: TLS file paths replaced by the files' PEM text.

    Paths are relative to the working directory (a configuration file's loader already made
    them start at its folder); PEM text given inline, or the server's ``stored:`` markers of a
    service document, are sent as they are.
    """
    data = config.to_json()
    for key, what in _PEM_KEYS.items():
        value = data.get(key)
        if not isinstance(value, str) or value.lstrip().startswith(("-----BEGIN", "stored:")):
            continue
        path = Path(value).expanduser()
        try:
            data[key] = path.read_text(encoding="ascii")
        except FileNotFoundError:
            raise UserError(f"{key}: the TLS {what} file {path} does not exist") from None
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or "not a PEM text file"
            raise UserError(f"{key}: cannot read the TLS {what} file {path}: {reason}") from None
    return data
