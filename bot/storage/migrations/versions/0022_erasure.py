"""erasure and retention: an erased patient, and the set-up file's [retention] (issue 21)

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07 03:40:00.000000

``patient.erased_at``: when the patient's personal data was erased (None: never); an erased
profile is never messaged, matched by phone or linked again (:mod:`bot.services.erasure`).
``clinic.message_texts_days``, ``clinic.inbound_ids_days`` and ``clinic.audit_years`` come from
the set-up file's optional ``[retention]`` table (:mod:`bot.services.retention`). Plain
``ALTER TABLE ... ADD COLUMN``, never a batch copy of ``patient``, which nearly every table
points at. Partial indexes on the texts still held (outbox, inbox items, inbox replies) let
the retention sweep read only those. Nothing to backfill.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.storage.types

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None

# The retention sweep reads only the rows still holding a text: partial indexes on both.
TEXT_INDEXES = (
    ('ix_outbox_text_kept', 'outbox', 'body IS NOT NULL'),
    ('ix_inbox_item_text_kept', 'inbox_item', 'text IS NOT NULL'),
    ('ix_inbox_reply_text_kept', 'inbox_reply', "text <> ''"),
)
CLINIC_COLUMNS = (('message_texts_days', '90'), ('inbound_ids_days', '400'), ('audit_years', '7'))


def upgrade() -> None:
    op.add_column('patient', sa.Column('erased_at', bot.storage.types.UTCDateTime(timezone=True),
                                       nullable=True))
    for name, default in CLINIC_COLUMNS:
        op.add_column('clinic', sa.Column(name, sa.Integer(), server_default=default,
                                          nullable=False))
    for index, table, where in TEXT_INDEXES:
        op.create_index(index, table, ['created_at', 'id'], unique=False,
                        sqlite_where=sa.text(where), postgresql_where=sa.text(where))


def downgrade() -> None:
    for index, table, _ in reversed(TEXT_INDEXES):
        op.drop_index(index, table_name=table)
    if op.get_bind().dialect.name == 'sqlite':  # DROP COLUMN in place, never a batch copy
        for name, _ in reversed(CLINIC_COLUMNS):
            op.execute(f'ALTER TABLE clinic DROP COLUMN {name}')
        op.execute('ALTER TABLE patient DROP COLUMN erased_at')
        return
    for name, _ in reversed(CLINIC_COLUMNS):
        op.drop_column('clinic', name)
    op.drop_column('patient', 'erased_at')
