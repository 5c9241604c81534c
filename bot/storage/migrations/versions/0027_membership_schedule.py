"""membership schedule: the membership sweeps' cursors in a table of their own (issue 15)

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-08 01:00:00.000000

``membership.next_invoice_on`` and ``membership.renewal_remind_on`` move to
``membership_schedule`` (``membership_id``, the same two columns), one row per membership.
Moving a cursor rewrote the membership row and added an entry to each of its five indexes; the
new table's rows are narrow and it has three. Every membership's row comes from its columns.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0027'
down_revision = '0026'
branch_labels = None
depends_on = None

CURSORS = ('next_invoice_on', 'renewal_remind_on')


def upgrade() -> None:
    op.create_table(
        'membership_schedule',
        sa.Column('membership_id', sa.Integer(), nullable=False),
        sa.Column('next_invoice_on', sa.Date(), nullable=True),
        sa.Column('renewal_remind_on', sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(['membership_id'], ['membership.id'],
                                name=op.f('fk_membership_schedule_membership_id_membership'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('membership_id', name=op.f('pk_membership_schedule')),
    )
    op.execute("INSERT INTO membership_schedule (membership_id, next_invoice_on, "
               "renewal_remind_on) SELECT id, next_invoice_on, renewal_remind_on FROM membership")
    for column in CURSORS:
        op.create_index(f'ix_membership_schedule_{column}', 'membership_schedule',
                        [column, 'membership_id'], unique=False)
        op.drop_index(f'ix_membership_{column}', table_name='membership')
        # Plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+): a batch copy of the membership table
        # would drop the old one, and with foreign keys on that deletes the schedule with it.
        op.drop_column('membership', column)


def downgrade() -> None:
    for column in CURSORS:
        op.add_column('membership', sa.Column(column, sa.Date(), nullable=True))
        op.execute(f"UPDATE membership SET {column} = (SELECT {column} "  # noqa: S608 - constant names
                   "FROM membership_schedule "
                   "WHERE membership_schedule.membership_id = membership.id)")
        op.create_index(f'ix_membership_{column}', 'membership', [column, 'id'], unique=False)
        op.drop_index(f'ix_membership_schedule_{column}', table_name='membership_schedule')
    op.drop_table('membership_schedule')
