"""credit as a ledger: each entry's source, and the invoice, payment or charge it came from

Revision ID: 0005
Revises: 0003
Create Date: 2026-12-05 09:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Entries before this revision were all refunds (the only thing that made credit).
    with op.batch_alter_table('credit_entry') as batch:
        batch.add_column(
            sa.Column('source', sa.String(length=16), server_default='refund', nullable=False)
        )
        batch.add_column(sa.Column('invoice_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('payment_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('external_id', sa.String(length=200), nullable=True))
        batch.create_foreign_key(
            batch.f('fk_credit_entry_invoice_id_invoice'), 'invoice', ['invoice_id'], ['id']
        )
        batch.create_foreign_key(
            batch.f('fk_credit_entry_payment_id_payment'), 'payment', ['payment_id'], ['id']
        )
        batch.create_unique_constraint(
            batch.f('uq_credit_entry_external_id'), ['external_id']
        )
        batch.create_check_constraint(
            'signed_by_source',
            "(source = 'applied' AND amount < 0) OR "
            "(source IN ('refund', 'overpayment') AND amount > 0)",
        )


def downgrade() -> None:
    with op.batch_alter_table('credit_entry') as batch:
        batch.drop_constraint('signed_by_source', type_='check')
        batch.drop_constraint(batch.f('uq_credit_entry_external_id'), type_='unique')
        batch.drop_constraint(batch.f('fk_credit_entry_payment_id_payment'), type_='foreignkey')
        batch.drop_constraint(batch.f('fk_credit_entry_invoice_id_invoice'), type_='foreignkey')
        batch.drop_column('external_id')
        batch.drop_column('payment_id')
        batch.drop_column('invoice_id')
        batch.drop_column('source')
