"""failed sign-ins counted in the database, for every worker

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28 15:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import cooptrack.store.types

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('sign_in_failures',
    sa.Column('key', sa.String(length=120), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('window_ends', cooptrack.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('held_until', cooptrack.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_sign_in_failures'))
    )
    op.create_index(op.f('ix_sign_in_failures_window_ends'), 'sign_in_failures', ['window_ends'])


def downgrade() -> None:
    op.drop_index(op.f('ix_sign_in_failures_window_ends'), table_name='sign_in_failures')
    op.drop_table('sign_in_failures')
