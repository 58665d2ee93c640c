"""Batch runs: progress per mini-batch (placeholder: filled in by the engineer who owns it; no schema change yet).

Revision ID: 0600_batch
Revises: 0500_observe
Create Date: 2026-12-05 08:30:00
"""

from __future__ import annotations

revision = "0600_batch"
down_revision = "0500_observe"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
