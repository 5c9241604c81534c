"""checkout sessions: payment links opened for an invoice (issue 20, Stripe)

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07 03:40:00.000000

``checkout_session``: one row per hosted checkout page a payment provider opened for an invoice
(per invoice, amount and generation; the provider's session id unique), with its URL, expiry
and status. Nothing to backfill.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.storage.types

revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'checkout_session',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('invoice_id', sa.Integer(), nullable=False),
        sa.Column('amount', bot.storage.types.Money(), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('generation', sa.Integer(), nullable=False),
        sa.Column('provider', sa.String(length=16), nullable=False),
        sa.Column('session_id', sa.String(length=200), nullable=False),
        sa.Column('url', sa.Text(), nullable=False),
        sa.Column('expires_at', bot.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('created_at', bot.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['invoice_id'], ['invoice.id'],
                                name=op.f('fk_checkout_session_invoice_id_invoice')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_checkout_session')),
        sa.UniqueConstraint('invoice_id', 'amount', 'generation',
                            name=op.f('uq_checkout_session_invoice_id_amount_generation')),
        sa.UniqueConstraint('session_id', name=op.f('uq_checkout_session_session_id')),
    )
    op.create_index(op.f('ix_checkout_session_invoice_id'), 'checkout_session', ['invoice_id'],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_checkout_session_invoice_id'), table_name='checkout_session')
    op.drop_table('checkout_session')
