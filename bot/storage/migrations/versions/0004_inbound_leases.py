"""inbound messages: claim leases, when answered, and ids kept by age

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05 09:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.storage.types

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('inbound_message') as batch:
        batch.add_column(sa.Column('owner', sa.String(length=32), nullable=True))
        batch.add_column(sa.Column(
            'lease_until', bot.storage.types.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column(
            'answered_at', bot.storage.types.UTCDateTime(timezone=True), nullable=True))
        batch.create_index(batch.f('ix_inbound_message_created_at'), ['created_at'])
    # Answered before: answered when first seen. In hand: a claim without a lease, which the
    # next delivery takes over (its handler may have been killed by the upgrade's restart).
    op.execute("UPDATE inbound_message SET answered_at = created_at WHERE reply IS NOT NULL")


def downgrade() -> None:
    op.execute("DELETE FROM inbound_message WHERE answered_at IS NOT NULL AND reply IS NULL")
    with op.batch_alter_table('inbound_message') as batch:
        batch.drop_index(batch.f('ix_inbound_message_created_at'))
        batch.drop_column('answered_at')
        batch.drop_column('lease_until')
        batch.drop_column('owner')

