"""the sector index holds project ids (the lists of a sector's projects); a project's locations
and claims by their project (the project page reads both)

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
    # the project page reads these by project: without an index, each page read the whole table
    op.create_index('ix_locations_project', 'locations', ['project_id'])
    op.create_index('ix_claims_project', 'claims', ['project_id'])


def downgrade() -> None:
    op.drop_index('ix_claims_project', table_name='claims')
    op.drop_index('ix_locations_project', table_name='locations')
    op.drop_index('ix_project_sectors_dac_code', table_name='project_sectors')
    op.create_index('ix_project_sectors_dac_code', 'project_sectors', ['dac_code'])
