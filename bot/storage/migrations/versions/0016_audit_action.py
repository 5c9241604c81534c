"""audit: an index for the audit log filtered by action (the console's /desk/audit, issue 17)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 19:40:00.000000

``ix_audit_entry_action`` (action, at, id): the newest entries of one action without reading
the whole log (``clinicbot report audit --action``, ``/desk/audit?action=``).
"""

from __future__ import annotations

from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_audit_entry_action', 'audit_entry', ['action', 'at', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_audit_entry_action', table_name='audit_entry')
