"""audit: one row per staff action, with the money and uses it changed (issue 17)

Revision ID: 0014
Revises: 0012
Create Date: 2026-12-06 05:30:00.000000

``audit_entry``: when, which staff key, from which face (cli, telegram, console), the action's
name, the ids it touched and ``before``/``after`` JSON with amounts in minor units. Indexed
newest first (at, id), by patient and by staff member, for keyset listing.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.storage.types import UTCDateTime

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'audit_entry',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('staff', sa.String(length=64), nullable=False),
        sa.Column('face', sa.String(length=16), nullable=False),
        sa.Column('action', sa.String(length=64), nullable=False),
        sa.Column('patient_id', sa.Integer(), nullable=True),
        sa.Column('package_id', sa.Integer(), nullable=True),
        sa.Column('appointment_id', sa.Integer(), nullable=True),
        sa.Column('invoice_id', sa.Integer(), nullable=True),
        sa.Column('before', sa.JSON(), nullable=False),
        sa.Column('after', sa.JSON(), nullable=False),
        sa.Column('summary', sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_audit_entry_at', 'audit_entry', ['at', 'id'], unique=False)
    op.create_index('ix_audit_entry_patient', 'audit_entry', ['patient_id', 'at', 'id'],
                    unique=False)
    op.create_index('ix_audit_entry_staff', 'audit_entry', ['staff', 'at', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_audit_entry_staff', table_name='audit_entry')
    op.drop_index('ix_audit_entry_patient', table_name='audit_entry')
    op.drop_index('ix_audit_entry_at', table_name='audit_entry')
    op.drop_table('audit_entry')
