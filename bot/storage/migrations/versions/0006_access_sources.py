"""who granted access: staff removed by the set-up file, chats and family links it gave

Revision ID: 0006
Revises: 0003
Create Date: 2026-12-05 09:00:00.000000

``staff.active`` (false once the set-up file no longer lists them), ``staff.chat_from_file``
(the file gave the chat id, so a reload without it takes the chat back) and
``guardianship.source`` (``file`` or ``desk``: a reload revokes only the file's links). Links
already there came from the set-up file (merges only carried file links over): ``file``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('staff') as batch:
        batch.add_column(sa.Column('active', sa.Boolean(), server_default=sa.true(),
                                   nullable=False))
        batch.add_column(sa.Column('chat_from_file', sa.Boolean(), server_default=sa.false(),
                                   nullable=False))
    with op.batch_alter_table('guardianship') as batch:
        batch.add_column(sa.Column('source', sa.String(length=8), server_default='desk',
                                   nullable=False))
    op.execute("UPDATE guardianship SET source = 'file'")


def downgrade() -> None:
    with op.batch_alter_table('guardianship') as batch:
        batch.drop_column('source')
    with op.batch_alter_table('staff') as batch:
        batch.drop_column('chat_from_file')
        batch.drop_column('active')
