"""Initial schema: workspaces, models, runs, usages; the `default` workspace.

Revision ID: 0001
Revises:
Create Date: 2026-11-26 15:10:53.996147
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "workspaces",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("uid", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_time", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workspaces")),
        sa.UniqueConstraint("name", name=op.f("uq_workspaces_name")),
        sa.UniqueConstraint("uid", name=op.f("uq_workspaces_uid")),
    )
    op.create_table(
        "experiments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("created_time", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_experiments_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_experiments")),
    )
    with op.batch_alter_table("experiments", schema=None) as batch_op:
        batch_op.create_index("uq_experiments_ws_name", ["workspace_id", "name"], unique=True)

    op.create_table(
        "model_names",
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("last_version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_model_names_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "name", name=op.f("pk_model_names")),
    )
    op.create_table(
        "models",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column(
            "tags",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "properties",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("framework", sa.String(length=64), nullable=True),
        sa.Column("framework_version", sa.String(length=64), nullable=True),
        sa.Column("created_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=True),
        sa.Column("mime_type", sa.String(length=255), nullable=False),
        sa.Column("unpack", sa.Boolean(), nullable=False),
        sa.Column("experiment_name", sa.String(length=255), nullable=True),
        sa.Column("run_id", sa.String(length=300), nullable=True),
        sa.Column("model_root", sa.String(length=1024), nullable=False),
        sa.Column(
            "files",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "resource_configuration",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_models_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_models")),
    )
    with op.batch_alter_table("models", schema=None) as batch_op:
        batch_op.create_index("ix_models_ws_run", ["workspace_id", "run_id"], unique=False)
        batch_op.create_index(
            "uq_models_ws_name_version",
            ["workspace_id", "name", sa.literal_column("version DESC")],
            unique=True,
        )

    op.create_table(
        "model_labels",
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=1), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("value", sa.String(length=256), nullable=False),
        sa.ForeignKeyConstraint(
            ["model_id"],
            ["models.id"],
            name=op.f("fk_model_labels_model_id_models"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("model_id", "kind", "key", name=op.f("pk_model_labels")),
    )
    with op.batch_alter_table("model_labels", schema=None) as batch_op:
        batch_op.create_index(
            "ix_model_labels_kind_key_value", ["kind", "key", "value"], unique=False
        )

    op.create_table(
        "model_usages",
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("consumer_kind", sa.String(length=32), nullable=False),
        sa.Column("consumer_name", sa.String(length=255), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["model_id"],
            ["models.id"],
            name=op.f("fk_model_usages_model_id_models"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_model_usages_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "model_id", "consumer_kind", "consumer_name", name=op.f("pk_model_usages")
        ),
    )
    with op.batch_alter_table("model_usages", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_model_usages_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "runs",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(length=300), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("experiment_id", sa.Integer(), nullable=False),
        sa.Column("experiment_name", sa.String(length=255), nullable=False),
        sa.Column("parent_run_id", sa.String(length=300), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("display_name", sa.String(length=255), nullable=True),
        sa.Column("created_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["experiment_id"],
            ["experiments.id"],
            name=op.f("fk_runs_experiment_id_experiments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_runs_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_runs")),
        sa.UniqueConstraint("run_id", name=op.f("uq_runs_run_id")),
    )
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_runs_ws_experiment", ["workspace_id", "experiment_name", "seq"], unique=False
        )
        batch_op.create_index(
            "ix_runs_ws_parent", ["workspace_id", "parent_run_id", "seq"], unique=False
        )

    op.create_table(
        "run_files",
        sa.Column("run_seq", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(length=1024), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_seq"], ["runs.seq"], name=op.f("fk_run_files_run_seq_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("run_seq", "path", name=op.f("pk_run_files")),
    )
    op.create_table(
        "run_metrics",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_seq", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column(
            "value",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["run_seq"], ["runs.seq"], name=op.f("fk_run_metrics_run_seq_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_run_metrics")),
    )
    with op.batch_alter_table("run_metrics", schema=None) as batch_op:
        batch_op.create_index("ix_run_metrics_run", ["run_seq", "id"], unique=False)

    # The server creates workspace `default` on first start, i.e. with the schema.
    workspaces = sa.table(
        "workspaces",
        sa.column("uid", sa.String),
        sa.column("name", sa.String),
        sa.column("description", sa.Text),
        sa.column("created_time", sa.DateTime(timezone=True)),
    )
    now = datetime.now(UTC)
    if op.get_context().dialect.name == "sqlite":
        now = now.replace(tzinfo=None)  # as UTCDateTime stores it
    op.bulk_insert(
        workspaces,
        [
            {
                "uid": str(uuid.uuid4()),
                "name": "default",
                "description": "Default workspace",
                "created_time": now,
            }
        ],
    )


def downgrade() -> None:
    with op.batch_alter_table("run_metrics", schema=None) as batch_op:
        batch_op.drop_index("ix_run_metrics_run")

    op.drop_table("run_metrics")
    op.drop_table("run_files")
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_index("ix_runs_ws_parent")
        batch_op.drop_index("ix_runs_ws_experiment")

    op.drop_table("runs")
    with op.batch_alter_table("model_usages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_model_usages_workspace_id"))

    op.drop_table("model_usages")
    with op.batch_alter_table("model_labels", schema=None) as batch_op:
        batch_op.drop_index("ix_model_labels_kind_key_value")

    op.drop_table("model_labels")
    with op.batch_alter_table("models", schema=None) as batch_op:
        batch_op.drop_index("uq_models_ws_name_version")
        batch_op.drop_index("ix_models_ws_run")

    op.drop_table("models")
    op.drop_table("model_names")
    with op.batch_alter_table("experiments", schema=None) as batch_op:
        batch_op.drop_index("uq_experiments_ws_name")

    op.drop_table("experiments")
    op.drop_table("workspaces")
