"""the sector index holds project ids (the lists of a sector's projects)

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-28 20:25:00
"""

from __future__ import annotations

from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # a sector's project ids from the index alone (its count and its projects' ids)
    op.drop_index('ix_project_sectors_dac_code', table_name='project_sectors')
    op.create_index('ix_project_sectors_dac_code', 'project_sectors', ['dac_code', 'project_id'])


def downgrade() -> None:
    op.drop_index('ix_project_sectors_dac_code', table_name='project_sectors')
    op.create_index('ix_project_sectors_dac_code', 'project_sectors', ['dac_code'])
