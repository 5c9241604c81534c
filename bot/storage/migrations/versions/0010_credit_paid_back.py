"""credit paid back: a negative ledger entry of source 'paid_back' (money returned to the patient)

Revision ID: 0010
Revises: 0007
Create Date: 2026-12-05 12:50:00.000000
"""

from __future__ import annotations

from alembic import op

revision = '0010'
down_revision = '0007'
branch_labels = None
depends_on = None

BEFORE = ("(source = 'applied' AND amount < 0) OR "
          "(source IN ('refund', 'overpayment') AND amount > 0)")
AFTER = ("(source IN ('applied', 'paid_back') AND amount < 0) OR "
         "(source IN ('refund', 'overpayment') AND amount > 0)")


def _sign_rule(rule: str) -> None:
    with op.batch_alter_table('credit_entry') as batch:
        batch.drop_constraint('signed_by_source', type_='check')
        batch.create_check_constraint('signed_by_source', rule)


def upgrade() -> None:
    _sign_rule(AFTER)


def downgrade() -> None:
    # Entries paid back cannot be expressed before this revision: refuse rather than lose them.
    bind = op.get_bind()
    if bind.exec_driver_sql(
        "SELECT count(*) FROM credit_entry WHERE source = 'paid_back'"
    ).scalar():
        raise RuntimeError("credit was paid back; that cannot be kept below revision 0010")
    _sign_rule(BEFORE)
