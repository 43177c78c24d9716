"""data changes by aspect, and the shared response cache, for the web's caches

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28 10:05:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import cooptrack.store.types

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('data_changes',
    sa.Column('aspect', sa.String(length=64), nullable=False),
    sa.Column('changes', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('aspect', name=op.f('pk_data_changes'))
    )
    op.create_table('response_cache',
    sa.Column('key', sa.String(length=2000), nullable=False),
    sa.Column('version', sa.String(length=1000), nullable=False),
    sa.Column('body', sa.LargeBinary(), nullable=False),
    sa.Column('etag', sa.String(length=100), nullable=True),
    sa.Column('stored_at', cooptrack.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_response_cache'))
    )


def downgrade() -> None:
    op.drop_table('response_cache')
    op.drop_table('data_changes')
