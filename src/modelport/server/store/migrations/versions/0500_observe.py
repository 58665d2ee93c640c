"""Observability: request telemetry, metric history, webhooks and the event outbox (placeholder: filled in by the engineer who owns it; no schema change yet).

Revision ID: 0500_observe
Revises: 0400_targets
Create Date: 2026-12-05 08:30:00
"""

from __future__ import annotations

revision = "0500_observe"
down_revision = "0400_targets"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
