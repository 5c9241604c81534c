"""closures: the clinic closed (at a location or everywhere) and practitioners' time off

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 10:00:00.000000

One table, ``closure``: ``[starts_at, ends_at)`` in UTC, with a practitioner (time off, at
every location) or without (the clinic closed, at one location or, with none, everywhere), a
reason, and who made it (``file`` or ``desk``: a reload of the set-up file takes back only its
own). Nothing is offered or booked inside one (RULES.md 20).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.storage.types

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'closure',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('practitioner_id', sa.Integer(), nullable=True),
        sa.Column('location_id', sa.Integer(), nullable=True),
        sa.Column('starts_at', bot.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('ends_at', bot.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('reason', sa.String(length=200), nullable=True),
        sa.Column('source', sa.String(length=8), nullable=False),
        sa.Column('created_at', bot.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint('ends_at > starts_at', name=op.f('ck_closure_ends_after_start')),
        sa.CheckConstraint('practitioner_id IS NULL OR location_id IS NULL',
                           name=op.f('ck_closure_time_off_anywhere')),
        sa.ForeignKeyConstraint(['location_id'], ['location.id'],
                                name=op.f('fk_closure_location_id_location')),
        sa.ForeignKeyConstraint(['practitioner_id'], ['practitioner.id'], ondelete='CASCADE',
                                name=op.f('fk_closure_practitioner_id_practitioner')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_closure')),
    )
    op.create_index('ix_closure_ends', 'closure', ['ends_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_closure_ends', table_name='closure')
    op.drop_table('closure')
