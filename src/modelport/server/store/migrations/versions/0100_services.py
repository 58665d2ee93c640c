"""Services: services, their revisions and models, operations (deploy, update, reload, delete).

Revision ID: 0100_services
Revises: 0001
Create Date: 2026-11-26 15:20:00
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0100_services"
down_revision = "0001"
branch_labels = None
depends_on = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _time() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "services",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("workspace", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("compute_type", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("error", _json(), nullable=True),
        sa.Column("desired_revision", sa.Integer(), nullable=False),
        sa.Column("current_revision", sa.Integer(), nullable=True),
        sa.Column("port", sa.Integer(), nullable=True),
        sa.Column("scoring_uri", sa.String(length=256), nullable=True),
        sa.Column("tags", _json(), nullable=False),
        sa.Column("properties", _json(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("deployment_config", _json(), nullable=False),
        sa.Column("auth_mode", sa.String(length=8), nullable=False),
        sa.Column("primary_key_enc", sa.Text(), nullable=True),
        sa.Column("secondary_key_enc", sa.Text(), nullable=True),
        sa.Column("token_secret_enc", sa.Text(), nullable=True),
        sa.Column("operation_id", sa.String(length=64), nullable=True),
        sa.Column("created_time", _time(), nullable=False),
        sa.Column("updated_time", _time(), nullable=False),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_until", _time(), nullable=True),
        sa.Column("state_since", _time(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_services")),
        sa.UniqueConstraint("workspace", "name", name="uq_services_workspace_name"),
    )
    with op.batch_alter_table("services") as batch_op:
        batch_op.create_index("ix_services_workspace", ["workspace"], unique=False)
    op.create_table(
        "service_revisions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("models", _json(), nullable=False),
        sa.Column("inference_config", _json(), nullable=True),
        sa.Column("source_files", _json(), nullable=False),
        sa.Column("environment", _json(), nullable=True),
        sa.Column("environment_key", sa.String(length=128), nullable=True),
        sa.Column("environment_lock", sa.Text(), nullable=True),
        sa.Column("deployment_config", _json(), nullable=False),
        sa.Column("no_code", sa.String(length=16), nullable=True),
        sa.Column("created_time", _time(), nullable=False),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["services.id"],
            name=op.f("fk_service_revisions_service_id_services"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_revisions")),
        sa.UniqueConstraint("service_id", "number", name="uq_service_revisions_service_number"),
    )
    op.create_table(
        "service_revision_models",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("revision_id", sa.Integer(), nullable=False),
        sa.Column("workspace", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["revision_id"],
            ["service_revisions.id"],
            name=op.f("fk_service_revision_models_revision_id_service_revisions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_revision_models")),
    )
    with op.batch_alter_table("service_revision_models") as batch_op:
        batch_op.create_index(
            "ix_service_revision_models_revision_id", ["revision_id"], unique=False
        )
        batch_op.create_index(
            "ix_service_revision_models_model", ["workspace", "name", "version"], unique=False
        )
    op.create_table(
        "service_operations",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("workspace", sa.String(length=64), nullable=False),
        sa.Column("service_name", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("target_revision", sa.Integer(), nullable=True),
        sa.Column("step", sa.String(length=32), nullable=True),
        sa.Column("error", _json(), nullable=True),
        sa.Column("start_time", _time(), nullable=False),
        sa.Column("end_time", _time(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_operations")),
    )
    with op.batch_alter_table("service_operations") as batch_op:
        batch_op.create_index("ix_service_operations_workspace", ["workspace"], unique=False)
        batch_op.create_index("ix_service_operations_state", ["state"], unique=False)


def downgrade() -> None:
    op.drop_table("service_operations")
    op.drop_table("service_revision_models")
    op.drop_table("service_revisions")
    op.drop_table("services")
