"""insurance-friendly packages: per-session receipts (issue 18, item 2)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 23:20:00.000000

``package_template.insurance_friendly`` and, copied at sale, ``patient_package``'s
``insurance_friendly``, ``session_value``, ``receipt_value`` and ``value_transferred``;
``session_receipt``: one numbered receipt per redeemed session (voided, never deleted, when the
redemption is undone) and a refund's adjustment. Existing packages are not insurance-friendly:
nothing to backfill.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.storage.types

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('package_template', sa.Column('insurance_friendly', sa.Boolean(),
                                                nullable=False, server_default=sa.false()))
    # Plain ALTER TABLE ... ADD COLUMN: a batch copy of patient_package (SQLite) would drop the
    # table the rest of the schema points at.
    op.add_column('patient_package', sa.Column('insurance_friendly', sa.Boolean(),
                                               nullable=False, server_default=sa.false()))
    op.add_column('patient_package', sa.Column('session_value', bot.storage.types.Money(),
                                               nullable=True))
    op.add_column('patient_package', sa.Column('receipt_value', bot.storage.types.Money(),
                                               nullable=True))
    op.add_column('patient_package', sa.Column('value_transferred', bot.storage.types.Money(),
                                               nullable=False, server_default='0'))
    op.create_table(
        'session_receipt',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('package_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('appointment_id', sa.Integer(), nullable=True),
        sa.Column('fee_id', sa.Integer(), nullable=True),
        sa.Column('practitioner_id', sa.Integer(), nullable=True),
        sa.Column('session_on', sa.Date(), nullable=False),
        sa.Column('value', bot.storage.types.Money(), nullable=False),
        sa.Column('patient_pays', bot.storage.types.Money(), nullable=False),
        sa.Column('issued_at', bot.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('voided_at', bot.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['appointment_id'], ['appointment.id'],
                                name=op.f('fk_session_receipt_appointment_id_appointment')),
        sa.ForeignKeyConstraint(['fee_id'], ['fee.id'], name=op.f('fk_session_receipt_fee_id_fee')),
        sa.ForeignKeyConstraint(['package_id'], ['patient_package.id'],
                                name=op.f('fk_session_receipt_package_id_patient_package')),
        sa.ForeignKeyConstraint(['practitioner_id'], ['practitioner.id'],
                                name=op.f('fk_session_receipt_practitioner_id_practitioner')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_session_receipt')),
    )
    op.create_index(op.f('ix_session_receipt_package_id'), 'session_receipt', ['package_id'],
                    unique=False)
    op.create_index('uq_session_receipt_live_appointment', 'session_receipt', ['appointment_id'],
                    unique=True, sqlite_where=sa.text('voided_at IS NULL'),
                    postgresql_where=sa.text('voided_at IS NULL'))
    op.create_index('uq_session_receipt_adjustment', 'session_receipt', ['package_id'],
                    unique=True, sqlite_where=sa.text("kind = 'adjustment'"),
                    postgresql_where=sa.text("kind = 'adjustment'"))
    op.create_index('ix_session_receipt_session_on', 'session_receipt', ['session_on', 'id'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_session_receipt_session_on', table_name='session_receipt')
    op.drop_index('uq_session_receipt_adjustment', table_name='session_receipt')
    op.drop_index('uq_session_receipt_live_appointment', table_name='session_receipt')
    op.drop_index(op.f('ix_session_receipt_package_id'), table_name='session_receipt')
    op.drop_table('session_receipt')
    # Plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+), as above.
    for column in ('value_transferred', 'receipt_value', 'session_value', 'insurance_friendly'):
        op.drop_column('patient_package', column)
    op.drop_column('package_template', 'insurance_friendly')
