"""Service TLS: each revision's certificate (PEM) and encrypted private key.

Revision ID: 0300_service_tls
Revises: 0200_environments
Create Date: 2026-11-26 16:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0300_service_tls"
down_revision = "0200_environments"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("service_revisions") as batch_op:
        batch_op.add_column(sa.Column("tls_cert", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("tls_key_enc", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("service_revisions") as batch_op:
        batch_op.drop_column("tls_key_enc")
        batch_op.drop_column("tls_cert")
