"""Compute targets attached to a workspace (Kubernetes clusters) (placeholder: filled in by the engineer who owns it; no schema change yet).

Revision ID: 0400_targets
Revises: 0300_service_tls
Create Date: 2026-12-05 08:30:00
"""

from __future__ import annotations

revision = "0400_targets"
down_revision = "0300_service_tls"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
