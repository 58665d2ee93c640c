"""Batch runs: no schema change. Progress per mini-batch lives in a local journal, not in rows.

Why (docs/batch.md "Resuming"): the driver records every finished mini-batch before moving on,
thousands of times per run, and ``modelport batch run`` works without a workspace server; an
fsynced append-only journal next to the output is crash-safe (a torn last line is ignored) and
costs one local write per mini-batch. A batch run recorded in the workspace is an ordinary Run
(status, metrics, files) whose ``batch_journal`` metric names that journal. The revision stays
in the chain so later migrations keep their ``down_revision``.

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
