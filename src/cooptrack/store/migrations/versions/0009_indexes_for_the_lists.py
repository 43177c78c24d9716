"""indexes for the project and observation lists under load

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28 13:10:00
"""

from __future__ import annotations

from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_projects_programme_code', 'projects', ['programme_id', 'code'])
    op.create_index('ix_projects_host_status', 'projects', ['host_country', 'status'])
    op.create_index('ix_projects_partner_status', 'projects', ['partner_country', 'status'])
    op.create_index('ix_observations_pair_period', 'observations', ['reporter', 'partner', 'period_start', 'id'])


def downgrade() -> None:
    op.drop_index('ix_observations_pair_period', table_name='observations')
    op.drop_index('ix_projects_partner_status', table_name='projects')
    op.drop_index('ix_projects_host_status', table_name='projects')
    op.drop_index('ix_projects_programme_code', table_name='projects')
