"""Compute targets attached to a workspace: Kubernetes clusters, each reached with a kubeconfig.

A kubeconfig is a credential (client certificates, tokens), so it is stored encrypted with the
server's key (``SecretBox``) and never returned by the API; documents show the cluster's API
server URL and the context used instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import yaml
from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from modelport.errors import Conflict, NotFound, UserError
from modelport.server.store.base import Base, UTCDateTime, add_unique, iso, utcnow
from modelport.server.store.workspaces import Workspace
from modelport.server.store.workspaces import get as get_workspace

KUBERNETES = "kubernetes"
COMPUTE_TYPES = (KUBERNETES,)
# v1's rule for compute names: 2-16 characters, a letter first, then letters, digits and '-'
NAME_RULE = re.compile(r"[A-Za-z][A-Za-z0-9-]{1,15}")
NAME_RULE_TEXT = "2 to 16 characters: a letter, then letters, digits or '-'"
NAMESPACE_RULE = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
MAX_KUBECONFIG_BYTES = 256 * 1024


class ComputeTarget(Base):
    __tablename__ = "compute_targets"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(16))
    compute_type: Mapped[str] = mapped_column(String(32))
    kubeconfig_enc: Mapped[str] = mapped_column(Text)
    context: Mapped[str] = mapped_column(String(255))
    cluster_server: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    namespace: Mapped[str] = mapped_column(String(63))
    image_registry: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created_time: Mapped[datetime] = mapped_column(UTCDateTime)


@dataclass(frozen=True)
class KubeconfigSummary:
    context: str
    cluster_server: str | None
    namespace: str | None  # the context's own namespace, if it names one


def check_name(name: str) -> None:
    if not NAME_RULE.fullmatch(name):
        raise UserError(f"invalid compute target name {name!r}: {NAME_RULE_TEXT}")


def check_namespace(namespace: str) -> None:
    if not NAMESPACE_RULE.fullmatch(namespace):
        raise UserError(
            f"invalid namespace {namespace!r}: up to 63 of a-z, 0-9 and '-', "
            "not starting or ending with '-'"
        )


def summarize_kubeconfig(text: str, context: str | None) -> KubeconfigSummary:
    """Parse a kubeconfig and pick its context (the named one, else current-context)."""
    if len(text.encode()) > MAX_KUBECONFIG_BYTES:
        raise UserError(f"the kubeconfig is larger than {MAX_KUBECONFIG_BYTES // 1024} KiB")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise UserError(f"the kubeconfig is not valid YAML: {exc}".splitlines()[0]) from None
    if not isinstance(data, dict) or not isinstance(data.get("contexts"), list):
        raise UserError("the kubeconfig has no 'contexts' list: is it a kubeconfig file?")
    contexts = {
        c["name"]: c.get("context") or {}
        for c in data["contexts"]
        if isinstance(c, dict) and isinstance(c.get("name"), str)
    }
    chosen = context or data.get("current-context")
    if not chosen:
        raise UserError(
            "the kubeconfig has no current-context: name one with --context "
            f"(it has {', '.join(sorted(contexts)) or 'none'})"
        )
    if chosen not in contexts:
        raise UserError(
            f"context {chosen!r} is not in the kubeconfig "
            f"(it has {', '.join(sorted(contexts)) or 'none'})"
        )
    ctx = contexts[chosen] if isinstance(contexts[chosen], dict) else {}
    clusters = {
        c["name"]: c.get("cluster") or {}
        for c in data.get("clusters") or []
        if isinstance(c, dict) and isinstance(c.get("name"), str)
    }
    cluster = clusters.get(ctx.get("cluster"))
    if cluster is None:
        raise UserError(f"context {chosen!r} names cluster {ctx.get('cluster')!r}, not in the file")
    server = cluster.get("server") if isinstance(cluster, dict) else None
    namespace = ctx.get("namespace")
    return KubeconfigSummary(
        chosen, str(server) if server else None, namespace if isinstance(namespace, str) else None
    )


def attach(
    session: Session,
    workspace: str,
    name: str,
    *,
    kubeconfig_enc: str,
    summary: KubeconfigSummary,
    namespace: str | None,
    image_registry: str | None,
) -> ComputeTarget:
    check_name(name)
    ws = get_workspace(session, workspace)
    ns = namespace or summary.namespace or "default"
    check_namespace(ns)
    if _find(session, ws, name) is not None:
        raise Conflict(
            f"compute target {name!r} is already attached to workspace {workspace!r}: "
            "detach it first to attach another cluster under that name"
        )
    row = ComputeTarget(
        workspace_id=ws.id,
        name=name,
        compute_type=KUBERNETES,
        kubeconfig_enc=kubeconfig_enc,
        context=summary.context,
        cluster_server=summary.cluster_server,
        namespace=ns,
        image_registry=image_registry or None,
        created_time=utcnow(),
    )
    add_unique(session, row, f"compute target {name!r} is already attached")
    return row


def _find(session: Session, ws: Workspace, name: str) -> ComputeTarget | None:
    return session.scalar(
        select(ComputeTarget).where(ComputeTarget.workspace_id == ws.id, ComputeTarget.name == name)
    )


def get(session: Session, workspace: str, name: str) -> ComputeTarget:
    row = _find(session, get_workspace(session, workspace), name)
    if row is None:
        raise NotFound(f"compute target {name!r} not found in workspace {workspace!r}")
    return row


def all_of(session: Session, workspace: str) -> list[ComputeTarget]:
    ws = get_workspace(session, workspace)
    query = select(ComputeTarget).where(ComputeTarget.workspace_id == ws.id)
    return list(session.scalars(query.order_by(ComputeTarget.name)))


def for_deployment(session: Session, workspace: str, name: str | None) -> ComputeTarget:
    """The target an AKS/kubernetes deployment goes to: ``computeTargetName``, else the only one."""
    if name:
        return get(session, workspace, name)
    rows = all_of(session, workspace)
    if len(rows) == 1:
        return rows[0]
    attach_hint = (
        "modelport target attach kubernetes -n NAME --kubeconfig FILE "
        f"-w {workspace} (docs/kubernetes.md)"
    )
    if not rows:
        raise UserError(
            f"computeType AKS/kubernetes deploys to a Kubernetes cluster, and workspace "
            f"{workspace!r} has none attached: attach one with `{attach_hint}`"
        )
    raise UserError(
        f"workspace {workspace!r} has {len(rows)} Kubernetes targets attached "
        f"({', '.join(r.name for r in rows)}): name one with computeTargetName"
    )


def detach(session: Session, workspace: str, name: str, users: list[str]) -> None:
    """Forget the target; refused while services (``users``) run on it."""
    row = get(session, workspace, name)
    if users:
        raise Conflict(
            f"compute target {name!r} still runs service(s) {', '.join(sorted(users))}: "
            "delete them first"
        )
    session.execute(delete(ComputeTarget).where(ComputeTarget.id == row.id))


def document(row: ComputeTarget, workspace: str) -> dict[str, Any]:
    """The API form (never the kubeconfig)."""
    return {
        "name": row.name,
        "workspace": workspace,
        "computeType": row.compute_type,
        "context": row.context,
        "clusterServer": row.cluster_server,
        "namespace": row.namespace,
        "imageRegistry": row.image_registry,
        "provisioningState": "Succeeded",
        "createdTime": iso(row.created_time),
    }


def check_deployable(session: Session, workspace: str, config: Any) -> None:
    """At create time: an AKS/kubernetes service needs its cluster attached (400 naming how)."""
    if getattr(config, "compute_type", None) not in ("AKS", KUBERNETES):
        return
    try:
        for_deployment(session, workspace, config.compute_target_name)
    except NotFound as exc:
        raise UserError(f"computeTargetName: {exc}; see `modelport target list`") from None
    if config.ssl_enabled:
        raise UserError(
            "sslEnabled is not applied by the kubernetes target: terminate TLS at an Ingress in "
            "front of the Service (docs/kubernetes.md) and deploy with sslEnabled false"
        )
