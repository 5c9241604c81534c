"""wrong staff codes counted per chat and overall, for throttling and lock-outs

Revision ID: 0007
Revises: 0003
Create Date: 2026-12-05 09:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.storage.types

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('staff_code_guard',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scope', sa.String(length=40), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('window_started_at', bot.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('locked_until', bot.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_code_guard')),
    sa.UniqueConstraint('scope', name=op.f('uq_staff_code_guard_scope'))
    )


def downgrade() -> None:
    op.drop_table('staff_code_guard')
