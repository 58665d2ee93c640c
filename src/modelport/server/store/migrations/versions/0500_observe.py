"""Observability: request telemetry reported by replicas.

Revision ID: 0500_observe
Revises: 0400_targets
Create Date: 2026-12-05 08:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0500_observe"
down_revision = "0400_targets"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "telemetry_records",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("workspace", sa.String(length=255), nullable=False),
        sa.Column("service", sa.String(length=255), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("replica", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("request_id", sa.String(length=255), nullable=True),
        sa.Column("client_request_id", sa.String(length=255), nullable=True),
        sa.Column("method", sa.String(length=16), nullable=True),
        sa.Column("path", sa.String(length=2048), nullable=True),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("success", sa.Boolean(), nullable=True),
        sa.Column("duration_ms", sa.Float(), nullable=True),
        sa.Column("models", sa.String(length=2048), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("data", _JSON, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_telemetry_records")),
    )
    with op.batch_alter_table("telemetry_records") as batch_op:
        batch_op.create_index(
            "ix_telemetry_records_service_time", ["workspace", "service", "kind", "time"]
        )
        batch_op.create_index(
            "ix_telemetry_records_request", ["workspace", "service", "request_id"]
        )
        batch_op.create_index("ix_telemetry_records_time", ["time"])


def downgrade() -> None:
    op.drop_table("telemetry_records")
