"""indexes for the overview on large registers

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 05:16:04.174950
"""

from __future__ import annotations

from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # hs_code in the series index: the overview's latest totals (hs_code IS NULL) and a target's
    # series no longer read a country pair's whole commodity detail.
    with op.batch_alter_table("observations", schema=None) as batch_op:
        batch_op.drop_index("ix_observations_series")
        batch_op.create_index("ix_observations_series", ["reporter", "partner", "indicator_id", "hs_code", "period_end"],
                              unique=False)
    # On PostgreSQL the status-event index also covers the columns the "as of" overview reads.
    with op.batch_alter_table("status_events", schema=None) as batch_op:
        batch_op.drop_index("ix_status_events_project")
        batch_op.create_index("ix_status_events_project", ["project_id", "effective_start"], unique=False,
                              postgresql_include=["status", "effective", "source_id"])


def downgrade() -> None:
    with op.batch_alter_table("status_events", schema=None) as batch_op:
        batch_op.drop_index("ix_status_events_project")
        batch_op.create_index("ix_status_events_project", ["project_id", "effective_start"], unique=False)
    with op.batch_alter_table("observations", schema=None) as batch_op:
        batch_op.drop_index("ix_observations_series")
        batch_op.create_index("ix_observations_series", ["reporter", "partner", "indicator_id", "period_end"],
                              unique=False)
