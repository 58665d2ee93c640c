"""The services API's writes: each one a single transaction that records the desired state and an
operation for the reconciler, after checking that no other operation runs on the service.

The queries live in the store (``server/store/services.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from modelport.errors import Conflict, UserError
from modelport.server.crypto import SecretBox
from modelport.server.deploy import auth, tls
from modelport.server.deploy.revision_plan import RevisionPlan, auth_mode, stored_config
from modelport.server.security import envsecrets
from modelport.server.store.base import utcnow
from modelport.server.store.services import (
    DELETE,
    DELETING,
    SUCCEEDED,
    TRANSITIONING,
    Operation,
    Revision,
    RevisionModel,
    Service,
    check_idle,
    check_port_free,
    find,
    new_operation,
    next_revision_number,
    revision,
)
from modelport.specs import DeploymentConfig

# PostgreSQL advisory-lock keys of "port N" checks: this namespace in the high 32 bits
_PORT_LOCKS = 0x6D70_0000 << 32


def _check_port(session: Session, port: int | None, service: Service | None) -> None:
    """``check_port_free`` made safe against a concurrent deploy asking for the same port.

    On PostgreSQL two transactions both see no holder and both insert (READ COMMITTED); a
    transaction lock on the port number makes the second wait for the first's commit, and its
    check then sees the first's row. SQLite's writes are serial already (BEGIN IMMEDIATE).
    """
    if port is not None and session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PORT_LOCKS + port})
    check_port_free(session, port, service)


def _add_revision(
    session: Session,
    service: Service,
    number: int,
    plan: RevisionPlan,
    config: DeploymentConfig,
    material: tls.TlsMaterial | None,
    box: SecretBox,
) -> Revision:
    rev = Revision(
        service_id=service.id,
        number=number,
        models=[m.id for m in plan.models],
        inference_config=plan.inference_config,
        source_files=plan.source_files,
        environment=envsecrets.seal(plan.environment, box),  # its variables, encrypted
        deployment_config=_stored(config, material),
        no_code=plan.no_code,
        tls_cert=None if material is None else material.cert_pem,
        tls_key_enc=None if material is None else material.key_enc,
        created_time=utcnow(),
    )
    session.add(rev)
    session.flush()
    for m in plan.models:
        session.add(
            RevisionModel(
                revision_id=rev.id, workspace=service.workspace, name=m.name, version=m.version
            )
        )
    return rev


def _stored(config: DeploymentConfig, material: tls.TlsMaterial | None) -> dict[str, Any]:
    return tls.stored_config(stored_config(config), material)


def _tls(
    session: Session, service: Service | None, config: DeploymentConfig, box: SecretBox
) -> tls.TlsMaterial | None:
    """TLS material of the next revision (the current desired one supplies what is not sent)."""
    previous = None if service is None else revision(session, service, service.desired_revision)
    return tls.resolve(config, previous, box)


def apply_auth(service: Service, config: DeploymentConfig, box: SecretBox) -> None:
    """Set the auth mode; keep existing keys unless the config gives new ones; make missing ones."""
    values = config.values()
    service.auth_mode = auth_mode(config)
    if service.auth_mode == "key":
        for column, given in (
            ("primary_key_enc", values.get("primary_key")),
            ("secondary_key_enc", values.get("secondary_key")),
        ):
            if given is not None:
                what = "keys." + ("primaryKey" if column.startswith("primary") else "secondaryKey")
                setattr(service, column, box.encrypt(auth.check_key(given, what)))
            elif getattr(service, column) is None:
                setattr(service, column, box.encrypt(auth.new_key()))
    if service.auth_mode == "token" and service.token_secret_enc is None:
        service.token_secret_enc = box.encrypt(auth.new_token_secret())


def create(
    session: Session,
    workspace: str,
    name: str,
    plan: RevisionPlan,
    config: DeploymentConfig,
    box: SecretBox,
    *,
    overwrite: bool,
    port: int | None,
    free_port: Callable[[], int],
    tags: dict[str, str],
    properties: dict[str, str],
    description: str | None,
) -> tuple[Service, Operation]:
    service = find(session, workspace, name, lock=True)
    if service is not None and not overwrite:
        raise Conflict(
            f"Service {name} already exists in workspace {workspace}; "
            "use overwrite=True (--overwrite) to replace it."
        )
    _check_port(session, port, service)
    material = _tls(session, service, config, box)
    now = utcnow()
    if service is None:
        service = Service(
            workspace=workspace,
            name=name,
            compute_type=config.compute_type,
            state=TRANSITIONING,
            desired_revision=1,
            # picked now and kept: every revision of the service shares it (SO_REUSEPORT)
            port=port if port is not None else free_port(),
            tags=tags,
            properties=properties,
            description=description,
            created_time=now,
            state_since=now,
        )
        session.add(service)
        session.flush()
        number = 1
    else:
        check_idle(session, service)
        if service.state == DELETING:
            raise Conflict(f"Service {name} is being deleted.")
        if service.compute_type != config.compute_type:
            raise UserError(
                f"Service {name} is a {service.compute_type} service; overwrite cannot change "
                f"computeType to {config.compute_type}. Delete it first."
            )
        number = next_revision_number(session, service)
        service.desired_revision = number
        service.tags, service.properties, service.description = tags, properties, description
        # the new operation's state, not the replaced deployment's (Failed, Healthy)
        service.state, service.state_since = TRANSITIONING, now
        if port is not None:
            service.port = port
    service.deployment_config = _stored(config, material)
    service.updated_time = now
    apply_auth(service, config, box)
    _add_revision(session, service, number, plan, config, material, box)
    op = new_operation(service, "Deploy", number)
    session.add(op)
    session.flush()
    return service, op


def update(
    session: Session,
    service: Service,
    kind: str,
    plan: RevisionPlan | None,
    config: DeploymentConfig,
    box: SecretBox,
    *,
    tags: dict[str, str] | None,
    properties: dict[str, str] | None,
    description: str | None,
    port: int | None,
) -> Operation:
    """Record an Update or Reload; with no new revision (metadata only) it succeeds at once."""
    check_idle(session, service)
    if service.state == DELETING:
        raise Conflict(f"Service {service.name} is being deleted.")
    now = utcnow()
    if tags is not None:
        service.tags = tags
    if properties is not None:
        service.properties = {**service.properties, **properties}
    if description is not None:
        service.description = description
    service.updated_time = now
    if plan is None:
        op = new_operation(service, kind, None)
        op.state, op.end_time = SUCCEEDED, now
        session.add(op)
        return op
    _check_port(session, port, service)
    material = _tls(session, service, config, box)
    number = next_revision_number(session, service)
    service.desired_revision = number
    service.deployment_config = _stored(config, material)
    if port is not None:
        service.port = port
    apply_auth(service, config, box)
    _add_revision(session, service, number, plan, config, material, box)
    service.state, service.state_since = TRANSITIONING, now
    op = new_operation(service, kind, number)
    session.add(op)
    session.flush()
    return op


def delete(session: Session, service: Service) -> Operation:
    check_idle(session, service)
    service.state, service.state_since = DELETING, utcnow()
    op = new_operation(service, DELETE, None)
    session.add(op)
    session.flush()
    return op


def keys(service: Service, box: SecretBox) -> dict[str, Any]:
    if service.auth_mode != "key":
        raise UserError(f"Service {service.name} does not use key auth (authEnabled is false).")
    return {
        "primaryKey": box.decrypt(service.primary_key_enc or ""),
        "secondaryKey": box.decrypt(service.secondary_key_enc or ""),
    }


def regenerate(service: Service, box: SecretBox, key_type: Any, key_value: Any) -> None:
    if service.auth_mode != "key":
        raise UserError(f"Service {service.name} does not use key auth (authEnabled is false).")
    kind = str(key_type or "").capitalize()
    if kind not in ("Primary", "Secondary"):
        raise UserError("keyType must be 'Primary' or 'Secondary'")
    value = auth.new_key() if key_value is None else auth.check_key(key_value, "keyValue")
    column = "primary_key_enc" if kind == "Primary" else "secondary_key_enc"
    setattr(service, column, box.encrypt(value))
    service.updated_time = utcnow()


def auth_settings(service: Service, box: SecretBox) -> auth.AuthSettings:
    def plain(value: str | None) -> str | None:
        return None if value is None else box.decrypt(value)

    return auth.AuthSettings(
        mode=service.auth_mode,
        primary_key=plain(service.primary_key_enc),
        secondary_key=plain(service.secondary_key_enc),
        token_secret=plain(service.token_secret_enc),
    )
