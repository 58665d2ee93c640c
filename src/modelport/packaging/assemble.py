"""Workspace-server side of packaging: from a request (or a deployed service) to PackageInputs.

The same steps a rollout takes before it starts replicas (server/deploy/rollout.py ``prepare``):
resolve the models, plan the revision (no-code included), and build or reuse the locked
environment, so the package installs exactly the lock a local replica runs with.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any

from modelport.environments.build import ensure_built
from modelport.environments.spec import from_azure_json
from modelport.errors import NotFound, UserError
from modelport.packaging.context import PackageInputs
from modelport.server.deploy import approot, nocode, revision_plan
from modelport.server.deploy.context import DeployContext
from modelport.server.deploy.models import ModelInfo, resolve
from modelport.server.deploy.steps import registered_lock
from modelport.server.security import envsecrets
from modelport.server.store import services as service_store
from modelport.server.store import workspaces

REQUEST_KEYS = (
    "models", "inferenceConfig", "sourceSnapshot", "environment", "service", "imageName",
    "imageLabel", "baseImage",
)  # fmt: skip
IMAGE_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789._-/:")


def image_reference(name: Any, label: Any, default_name: str) -> tuple[str, str]:
    """Validated (name, label): lower-case registry/repository name and a tag (Docker's rules)."""
    name = default_name if name in (None, "") else name
    label = "latest" if label in (None, "") else label
    if not isinstance(name, str) or not name or not set(name) <= IMAGE_NAME_CHARS:
        raise UserError(
            f"imageName {name!r}: use lower-case letters, digits, '.', '_', '-' and '/' "
            "(optionally a registry host first, e.g. registry.example.com/team/digits)"
        )
    if (
        not isinstance(label, str)
        or not label
        or len(label) > 128
        or not all(c.isascii() and (c.isalnum() or c in "._-") for c in label)
    ):
        raise UserError(f"imageLabel {label!r}: up to 128 of letters, digits, '.', '_', '-'")
    return name.strip("/"), label


def from_request(
    dctx: DeployContext,
    ws: str,
    body: dict[str, Any],
    check_blobs: Callable[[list[dict[str, Any]]], None],
    log: Callable[[str], None],
) -> PackageInputs:
    """The package of ``body`` (models + inference config, or ``service``)."""
    body = revision_plan.check_keys(body, REQUEST_KEYS, "package")
    if body.get("service") is not None:
        extra = [
            k for k in ("models", "inferenceConfig", "sourceSnapshot", "environment") if body.get(k)
        ]
        if extra:
            raise UserError(f"package: give either 'service' or {', '.join(extra)}, not both")
        return from_service(dctx, ws, str(body["service"]), body, log)
    refs = body.get("models")
    if not isinstance(refs, list) or not refs:
        raise UserError("package: 'models' must be a non-empty list of 'name:version' strings")
    files = revision_plan.source_files(body.get("sourceSnapshot"))
    ic = revision_plan.inference_config(body.get("inferenceConfig"), files)
    check_blobs(files)
    with dctx.server.store.read() as session:
        workspaces.get(session, ws)
        models = resolve(session, ws, [str(r) for r in refs])
    registered = functools.partial(dctx.registered_environment, workspace=ws)
    plan = revision_plan.plan_revision(models, ic, files, body.get("environment"), registered)
    default_name = models[0].name.lower() if len(models) == 1 else "package"
    return _inputs(
        dctx, ws, body, plan.models, plan.inference_config, plan.source_files,
        plan.environment, None, plan.no_code, dict(plan.generated), default_name, log,
    )  # fmt: skip


def from_service(
    dctx: DeployContext,
    ws: str,
    name: str,
    body: dict[str, Any],
    log: Callable[[str], None],
    revision: int | None = None,
) -> PackageInputs:
    """The package of a deployed service's serving (else desired) revision, lock included;
    ``revision``: that one (the kubernetes target packages the revision it rolls out)."""
    with dctx.server.store.read() as session:
        service = service_store.get(session, ws, name)
        rev = service_store.revision(
            session, service, revision or service.current_revision or service.desired_revision
        )
        if rev is None:
            raise NotFound(f"Service {name} has no revision to package.")
        models = resolve(session, ws, list(rev.models))
        ic, files = rev.inference_config, list(rev.source_files)
        env = envsecrets.unseal(rev.environment or {}, dctx.box)
        lock, no_code = rev.environment_lock, rev.no_code
    generated: dict[str, str] = {}
    if no_code:
        generated[nocode.SCRIPT_NAME] = nocode.plan_no_code(
            [m.as_json() for m in models], revision_plan.CURATED_FOR
        ).script
    log(f"Packaging service {name}, revision {rev.number}.")
    return _inputs(
        dctx, ws, body, models, ic, files, env or {}, lock, no_code, generated, name, log
    )


def _inputs(
    dctx: DeployContext,
    ws: str,
    body: dict[str, Any],
    models: list[ModelInfo],
    ic: dict[str, Any] | None,
    files: list[dict[str, Any]],
    environment: dict[str, Any],
    lock: str | None,
    no_code: str | None,
    generated: dict[str, str],
    default_name: str,
    log: Callable[[str], None],
) -> PackageInputs:
    image_name, image_label = image_reference(
        body.get("imageName"), body.get("imageLabel"), default_name
    )
    base_image = body.get("baseImage") or (ic or {}).get("baseImage")
    if base_image is not None and not isinstance(base_image, str):
        raise UserError("baseImage must be an image reference string")
    spec = from_azure_json(environment or {"name": revision_plan.DEFAULT_ENVIRONMENT})
    entry = nocode.SCRIPT_NAME if no_code else str((ic or {}).get("entryScript"))
    if no_code:
        log(f"No-code package of a {no_code} model with the built-in entry script.")
    return PackageInputs(
        models=tuple(m.as_layout() for m in models),
        source_files=tuple(
            approot.FileEntry(f["path"], f["sha256"], int(f.get("size", 0))) for f in files
        ),
        entry_script=entry,
        lock="",  # filled by lock_environment(), the slow part, run after the request returns
        python_version="",
        environment_name=spec.name,
        environment_variables=dict(spec.environment_variables),
        generated=generated,
        no_code=no_code,
        base_image=base_image,
        image_name=image_name,
        image_label=image_label,
        environment=environment,
        stored_lock=lock,
    )


def lock_environment(
    dctx: DeployContext, ws: str, inputs: PackageInputs, log: Callable[[str], None]
) -> PackageInputs:
    """``inputs`` with the environment's lock and Python: built (or reused) as a deploy does."""
    spec = from_azure_json(dict(inputs.environment) or {"name": revision_plan.DEFAULT_ENVIRONMENT})
    log(f"Environment {spec.name}: resolving and building (or reusing) it for its lock.")
    registered = registered_lock(dctx, ws, spec.name, spec.version)
    built = ensure_built(spec, dctx.env_cache, log, lock=inputs.stored_lock or registered)
    return dataclasses.replace(inputs, lock=built.lock, python_version=built.python_version)
