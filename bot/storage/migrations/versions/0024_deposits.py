"""deposits: a clinic's deposit to book without a package, one deposit invoice per appointment

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07 03:45:00.000000

``clinic.deposit`` (None: no deposit) and ``clinic.deposit_hold_minutes`` come from the set-up
file's optional ``[booking]`` table (issue 20). A partial unique index keeps one ``deposit``
invoice per appointment, whatever runs at the same time. Nothing to backfill.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.storage.types

revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None

DEPOSIT_ONLY = sa.text("kind = 'deposit'")


def upgrade() -> None:
    with op.batch_alter_table('clinic') as batch:
        batch.add_column(sa.Column('deposit', bot.storage.types.Money(), nullable=True))
        batch.add_column(sa.Column('deposit_hold_minutes', sa.Integer(), server_default='120',
                                   nullable=False))
    op.create_index('uq_invoice_deposit_appointment', 'invoice', ['appointment_id'], unique=True,
                    sqlite_where=DEPOSIT_ONLY, postgresql_where=DEPOSIT_ONLY)


def downgrade() -> None:
    op.drop_index('uq_invoice_deposit_appointment', table_name='invoice')
    with op.batch_alter_table('clinic') as batch:
        batch.drop_column('deposit_hold_minutes')
        batch.drop_column('deposit')
