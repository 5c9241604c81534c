"""sweeps: cursors so a scheduler pass selects only what is due (issue 15)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 02:30:00.000000

``membership.next_invoice_on`` (the start of the first period that may lack its invoice),
``membership.renewal_remind_on`` (the day the next renewal reminder may be due) and
``invoice.reminder_due_on`` (when the invoice's next unpaid reminder may be due), each indexed;
a sweep selects ``WHERE cursor <= today`` and moves the cursor on. They are lower bounds: a
sweep re-checks every row it selects, so the set-based backfill only has to be early, never
late (:func:`backfill`): the end of the latest invoiced period (periods
are invoiced in order; else the start), the end of the latest period begun before yesterday
less the plan's reminder days (else the start), and the due date of every open membership or
installment invoice. Each index is
(cursor, id): a sweep reads a chunk as one range of it, past the previous chunk's last key.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.services.sweeping import membership_cursors

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def backfill(dialect: str) -> list[str]:
    """The cursors of existing rows, set-based and only ever early, as this revision has them:
    columns of the membership and the invoice."""
    invoicing, renewal = membership_cursors(dialect)
    return [
        f"UPDATE membership SET next_invoice_on = {invoicing}, renewal_remind_on = {renewal}",  # noqa: S608 - constant SQL
        "UPDATE invoice SET reminder_due_on = due_on "
        "WHERE status = 'open' AND kind IN ('membership', 'installment')",
    ]


def upgrade() -> None:
    with op.batch_alter_table('membership') as batch:
        batch.add_column(sa.Column('next_invoice_on', sa.Date(), nullable=True))
        batch.add_column(sa.Column('renewal_remind_on', sa.Date(), nullable=True))
    with op.batch_alter_table('invoice') as batch:
        batch.add_column(sa.Column('reminder_due_on', sa.Date(), nullable=True))
    for statement in backfill(op.get_bind().dialect.name):
        op.execute(statement)
    op.create_index('ix_membership_next_invoice_on', 'membership', ['next_invoice_on', 'id'],
                    unique=False)
    op.create_index('ix_membership_renewal_remind_on', 'membership', ['renewal_remind_on', 'id'],
                    unique=False)
    op.create_index('ix_invoice_reminder_due_on', 'invoice', ['reminder_due_on', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_invoice_reminder_due_on', table_name='invoice')
    op.drop_index('ix_membership_renewal_remind_on', table_name='membership')
    op.drop_index('ix_membership_next_invoice_on', table_name='membership')
    with op.batch_alter_table('invoice') as batch:
        batch.drop_column('reminder_due_on')
    with op.batch_alter_table('membership') as batch:
        batch.drop_column('renewal_remind_on')
        batch.drop_column('next_invoice_on')
