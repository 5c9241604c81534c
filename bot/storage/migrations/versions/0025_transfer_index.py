"""transfer index: index patient_package.transferred_from_id

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07 05:15:00.000000

Statements, receipts and the patient export look a package's transfers up by
``transferred_from_id``; the index spares them a scan of every package. Nothing to backfill.
"""

from __future__ import annotations

from alembic import op

revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_patient_package_transferred_from_id', 'patient_package',
                    ['transferred_from_id'])


def downgrade() -> None:
    op.drop_index('ix_patient_package_transferred_from_id', table_name='patient_package')
