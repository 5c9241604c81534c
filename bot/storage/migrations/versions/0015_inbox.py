"""inbox: patients' messages and staff alerts as one shared inbox, and staff phones (issue 17)

Revision ID: 0015
Revises: 0012
Create Date: 2026-12-06 05:30:00.000000

``inbox_item``: one row per "Talk to the clinic" message or staff alert (``key``: the alert's
outbox purpose without ``:staff:<id>``, unique), with its handled state shared by all staff;
``inbox_reply``: the desk's answers, each with the outbox row that carries it to the patient.
``staff.phone``: where a staff member's alerts go by SMS. Nothing is backfilled: alerts queued
before the upgrade stay in the outbox only.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.storage.types

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'inbox_item',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=200), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('patient_id', sa.Integer(), nullable=True),
        sa.Column('channel', sa.String(length=16), nullable=True),
        sa.Column('text', sa.Text(), nullable=True),
        sa.Column('params', sa.JSON(), nullable=False),
        sa.Column('created_at', bot.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('handled_at', bot.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('handled_by', sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(['patient_id'], ['patient.id'],
                                name=op.f('fk_inbox_item_patient_id_patient')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_inbox_item')),
        sa.UniqueConstraint('key', name=op.f('uq_inbox_item_key')),
    )
    op.create_index('ix_inbox_item_newest', 'inbox_item', ['created_at', 'id'], unique=False)
    op.create_index('ix_inbox_item_handled', 'inbox_item', ['handled_at'], unique=False)
    op.create_table(
        'inbox_reply',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('item_id', sa.Integer(), nullable=False),
        sa.Column('staff_key', sa.String(length=64), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('created_at', bot.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('outbox_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['item_id'], ['inbox_item.id'], ondelete='CASCADE',
                                name=op.f('fk_inbox_reply_item_id_inbox_item')),
        sa.ForeignKeyConstraint(['outbox_id'], ['outbox.id'],
                                name=op.f('fk_inbox_reply_outbox_id_outbox')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_inbox_reply')),
    )
    op.create_index('ix_inbox_reply_item', 'inbox_reply', ['item_id', 'id'], unique=False)
    with op.batch_alter_table('staff') as batch:
        batch.add_column(sa.Column('phone', sa.String(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('staff') as batch:
        batch.drop_column('phone')
    op.drop_index('ix_inbox_reply_item', table_name='inbox_reply')
    op.drop_table('inbox_reply')
    op.drop_index('ix_inbox_item_handled', table_name='inbox_item')
    op.drop_index('ix_inbox_item_newest', table_name='inbox_item')
    op.drop_table('inbox_item')
