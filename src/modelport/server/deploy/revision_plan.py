"""Validate a services request body into what a revision needs (no database writes here)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from modelport.environments.curated import get_curated
from modelport.environments.spec import EnvironmentSpec, from_azure_json, to_azure_json
from modelport.errors import NotFound, UserError
from modelport.server.deploy import nocode
from modelport.server.deploy.models import ModelInfo
from modelport.server.security import envsecrets
from modelport.specs import (
    ACI,
    AKS,
    KUBERNETES,
    LOCAL,
    ConfigError,
    DeploymentConfig,
    parse_deployment_config,
)
from modelport.specs.errors import unknown_key_message
from modelport.specs.inference import KEYS as INFERENCE_KEYS

CREATE_KEYS = (
    "name", "models", "inferenceConfig", "environment", "sourceSnapshot", "deploymentConfig",
    "overwrite", "tags", "properties", "description",
)  # fmt: skip
UPDATE_KEYS = (
    "models", "inferenceConfig", "environment", "sourceSnapshot", "deploymentConfig", "tags",
    "properties", "description",
)  # fmt: skip
SUPPORTED_COMPUTE = (LOCAL, ACI, AKS, KUBERNETES)  # the last two: an attached cluster
DEFAULT_ENVIRONMENT = "AzureML-Minimal"
CURATED_FOR = {
    nocode.SCIKITLEARN: "AzureML-sklearn-0.24.1-ubuntu18.04-py37-cpu-inference",
    nocode.ONNX: "AzureML-onnxruntime-1.6-ubuntu18.04-py37-cpu-inference",
}


def check_keys(body: Any, allowed: tuple[str, ...], what: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise UserError(f"the {what} body must be a JSON object")
    unknown = [k for k in body if k not in allowed]
    if unknown:
        raise ConfigError([unknown_key_message(k, allowed, f"the {what} request") for k in unknown])
    return body


def deployment_config(data: Any) -> DeploymentConfig:
    config = parse_deployment_config(
        data if data is not None else {"computeType": LOCAL}, "deploymentConfig"
    )
    if config.compute_type not in SUPPORTED_COMPUTE:
        raise UserError(
            f"deploymentConfig: computeType '{config.compute_type}' is not supported by this "
            f"server yet; use one of: {', '.join(SUPPORTED_COMPUTE)}"
        )
    return config


def stored_config(config: DeploymentConfig) -> dict[str, Any]:
    """The config JSON kept in rows: keys removed (they are stored encrypted, apart)."""
    data = config.to_json()
    data.pop("keys", None)
    return data


def auth_mode(config: DeploymentConfig) -> str:
    if config.values().get("token_auth_enabled"):
        return "token"
    return "key" if config.values().get("auth_enabled") else "none"


def source_files(snapshot: Any) -> list[dict[str, Any]]:
    if snapshot is None:
        return []
    if not isinstance(snapshot, dict) or not isinstance(snapshot.get("files"), list):
        raise UserError('sourceSnapshot must be {"files": [{"path", "sha256", "size"}, ...]}')
    out = []
    for f in snapshot["files"]:
        if (
            not isinstance(f, dict)
            or not isinstance(f.get("path"), str)
            or not isinstance(f.get("sha256"), str)
        ):
            raise UserError("sourceSnapshot.files entries need 'path' and 'sha256' strings")
        size = f.get("size", 0)
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise UserError(f"sourceSnapshot: size of '{f['path']}' must be a non-negative integer")
        out.append({"path": f["path"], "sha256": f["sha256"].lower(), "size": size})
    _check_layout({f["path"] for f in out})
    return out


def _check_layout(paths: set[str]) -> None:
    """Refuse what the app-root layout would trip over later as an internal error."""
    from modelport.server.deploy.approot import MODELS_DIR

    for path in sorted(paths):
        if path == MODELS_DIR or path.startswith(MODELS_DIR + "/"):
            raise UserError(
                f"sourceSnapshot: '{path}' is inside '{MODELS_DIR}', where the service's models "
                "are placed; rename that folder in the source directory"
            )
        parts = path.split("/")
        for i in range(1, len(parts)):
            if "/".join(parts[:i]) in paths:
                raise UserError(
                    f"sourceSnapshot: '{'/'.join(parts[:i])}' is both a file and a folder"
                )


@dataclass
class RevisionPlan:
    """Everything a new revision stores."""

    models: list[ModelInfo]
    inference_config: dict[str, Any] | None
    source_files: list[dict[str, Any]]
    environment: dict[str, Any]
    no_code: str | None = None
    generated: dict[str, str] = field(default_factory=dict)


def inference_config(data: Any, files: list[dict[str, Any]]) -> dict[str, Any] | None:
    if data is None:
        return None
    if not isinstance(data, dict):
        raise ConfigError(["inferenceConfig must be a JSON object"])
    unknown = [k for k in data if k not in INFERENCE_KEYS]
    if unknown:
        raise ConfigError(
            [unknown_key_message(k, INFERENCE_KEYS, "inferenceConfig") for k in unknown]
        )
    entry = data.get("entryScript")
    if not isinstance(entry, str) or not entry.strip():
        raise ConfigError(["inferenceConfig: entryScript is required (the scoring .py file)"])
    if not entry.endswith(".py"):
        raise ConfigError([f"inferenceConfig: entryScript '{entry}' must end in .py"])
    paths = {f["path"] for f in files}
    if PurePosixPath(entry).as_posix() not in paths:
        raise ConfigError([f"inferenceConfig: entryScript '{entry}' is not in the source snapshot"])
    return dict(data)


def environment_json(body_env: Any, ic: dict[str, Any] | None, registered: Any) -> dict[str, Any]:
    """The environment (Azure JSON) of a revision: body, else the inference config's, else minimal.

    ``registered(name, version) -> dict`` looks up a registered or curated environment.
    """
    env = body_env if body_env is not None else (ic or {}).get("environment")
    if env is None:
        return to_azure_json(get_curated(DEFAULT_ENVIRONMENT))
    if not isinstance(env, dict):
        raise UserError("environment must be a JSON object")
    if set(env) <= {"name", "version"}:
        return dict(registered(str(env.get("name")), env.get("version")))
    spec: EnvironmentSpec = from_azure_json(env)
    doc = to_azure_json(spec)
    if envsecrets.has_mask(doc):  # an Environment read back from the API: its secrets are masked
        with contextlib.suppress(NotFound):
            doc = envsecrets.restore_masked(doc, registered(spec.name, spec.version))
    return doc


def plan_revision(
    models: list[ModelInfo],
    ic: dict[str, Any] | None,
    files: list[dict[str, Any]],
    body_env: Any,
    registered: Any,
) -> RevisionPlan:
    if ic is None:
        plan = nocode.plan_no_code([m.as_json() for m in models], CURATED_FOR)
        env = to_azure_json(get_curated(plan.curated_environment))
        return RevisionPlan(
            models, None, [], env, no_code=plan.framework,
            generated={nocode.SCRIPT_NAME: plan.script},
        )  # fmt: skip
    env = environment_json(body_env, ic, registered)
    return RevisionPlan(models, ic, files, env)


@dataclass
class Change:
    plan: RevisionPlan | None  # None: only tags/properties/description change
    config: DeploymentConfig
    port: int | None


REVISION_KEYS = ("models", "inferenceConfig", "environment", "sourceSnapshot", "deploymentConfig")


def plan_change(
    session: Any,
    service: Any,
    base: Any,
    body: dict[str, Any],
    kind: str,
    deploy: Any,
    check_blobs: Any,
) -> Change:
    """The next revision for an Update (changed parts over the desired revision) or a Reload."""
    import functools

    from modelport.server.deploy.models import resolve

    registered = functools.partial(deploy.registered_environment, workspace=service.workspace)

    current = parse_deployment_config(base.deployment_config, "stored deploymentConfig")
    config = current
    port = None
    if body.get("deploymentConfig") is not None:
        given = deployment_config(body["deploymentConfig"])
        if given.compute_type != current.compute_type:
            raise UserError(
                f"deploymentConfig: computeType cannot change from {current.compute_type} to "
                f"{given.compute_type} on update; deploy a new service instead"
            )
        config = current.updated(given)
        port = given.explicit.get("port")
    if kind != "Reload" and not any(k in body for k in REVISION_KEYS):
        return Change(None, config, None)
    files = (
        source_files(body["sourceSnapshot"]) if body.get("sourceSnapshot") else base.source_files
    )
    check_blobs(files)
    refs = body["models"] if body.get("models") is not None else list(base.models)
    models = resolve(session, service.workspace, list(refs))
    ic_data = body.get("inferenceConfig") or base.inference_config
    ic = inference_config(ic_data, files) if ic_data is not None else None
    if kind == "Reload" or (body.get("environment") is None and not body.get("inferenceConfig")):
        env_body: Any = base.environment
    else:
        env_body = body.get("environment")
    if ic is None:
        plan = plan_revision(models, None, [], None, registered)
    else:
        plan = RevisionPlan(models, ic, files, environment_json(env_body, ic, registered))
    return Change(plan, config, port)
