"""invoice reminder: the unpaid-reminder cursor in a table of its own (issue 15)

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-08 00:30:00.000000

``invoice.reminder_due_on`` moves to ``invoice_reminder`` (``invoice_id``, ``remind_on``), one
row per invoice the unpaid reminders still chase. Moving the cursor of a chunk of invoices
rewrote each wide invoice row and added an entry to each of its six indexes; the new table's
rows are narrow and it has two indexes. The rows come from the column's non-NULL values.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'invoice_reminder',
        sa.Column('invoice_id', sa.Integer(), nullable=False),
        sa.Column('remind_on', sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(['invoice_id'], ['invoice.id'],
                                name=op.f('fk_invoice_reminder_invoice_id_invoice'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('invoice_id', name=op.f('pk_invoice_reminder')),
    )
    op.execute("INSERT INTO invoice_reminder (invoice_id, remind_on) "
               "SELECT id, reminder_due_on FROM invoice WHERE reminder_due_on IS NOT NULL")
    op.create_index('ix_invoice_reminder_remind_on', 'invoice_reminder',
                    ['remind_on', 'invoice_id'], unique=False)
    op.drop_index('ix_invoice_reminder_due_on', table_name='invoice')
    # Plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+): a batch copy of the invoice table would
    # drop the old one, and with foreign keys on that deletes the new table's rows with it.
    op.drop_column('invoice', 'reminder_due_on')


def downgrade() -> None:
    op.add_column('invoice', sa.Column('reminder_due_on', sa.Date(), nullable=True))
    op.execute("UPDATE invoice SET reminder_due_on = (SELECT remind_on FROM invoice_reminder "
               "WHERE invoice_reminder.invoice_id = invoice.id)")
    op.create_index('ix_invoice_reminder_due_on', 'invoice', ['reminder_due_on', 'id'],
                    unique=False)
    op.drop_index('ix_invoice_reminder_remind_on', table_name='invoice_reminder')
    op.drop_table('invoice_reminder')
