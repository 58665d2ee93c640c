"""Compute targets attached to a workspace (Kubernetes clusters, kubeconfig stored encrypted).

Revision ID: 0400_targets
Revises: 0300_service_tls
Create Date: 2026-12-05 08:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0400_targets"
down_revision = "0300_service_tls"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "compute_targets",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=16), nullable=False),
        sa.Column("compute_type", sa.String(length=32), nullable=False),
        sa.Column("kubeconfig_enc", sa.Text(), nullable=False),
        sa.Column("context", sa.String(length=255), nullable=False),
        sa.Column("cluster_server", sa.String(length=1024), nullable=True),
        sa.Column("namespace", sa.String(length=63), nullable=False),
        sa.Column("image_registry", sa.String(length=255), nullable=True),
        sa.Column("created_time", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_compute_targets_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_compute_targets")),
        sa.UniqueConstraint("workspace_id", "name", name=op.f("uq_compute_targets_workspace_id")),
    )


def downgrade() -> None:
    op.drop_table("compute_targets")
