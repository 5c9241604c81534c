"""staff console: staff passwords, desk sessions and login lock-outs (issue 17)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 05:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.storage.types

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('staff_password',
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=False),
    sa.Column('set_at', bot.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_staff_password_staff_id_staff')),
    sa.PrimaryKeyConstraint('staff_id', name=op.f('pk_staff_password'))
    )
    op.create_table('desk_session',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('csrf_token', sa.String(length=64), nullable=False),
    sa.Column('created_at', bot.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', bot.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_desk_session_staff_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_desk_session')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_desk_session_token_hash'))
    )
    op.create_index(op.f('ix_desk_session_staff_id'), 'desk_session', ['staff_id'], unique=False)
    op.create_table('desk_login_guard',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scope', sa.String(length=120), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('window_started_at', bot.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('locked_until', bot.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_desk_login_guard')),
    sa.UniqueConstraint('scope', name=op.f('uq_desk_login_guard_scope'))
    )


def downgrade() -> None:
    op.drop_table('desk_login_guard')
    op.drop_index(op.f('ix_desk_session_staff_id'), table_name='desk_session')
    op.drop_table('desk_session')
    op.drop_table('staff_password')
