"""invitations: a family member invited to manage a patient, with throttled codes (issue 18)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 23:20:00.000000

``invitation``: one row per invitation (only a hash of its code), ``invitation_guard``: wrong
codes counted per chat and overall. Nothing to backfill.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.storage.types

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'invitation',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('patient_id', sa.Integer(), nullable=False),
        sa.Column('code_hash', sa.String(length=64), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('round', sa.Integer(), nullable=False),
        sa.Column('created_by', sa.String(length=64), nullable=False),
        sa.Column('created_at', bot.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('expires_at', bot.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('sms_phone', sa.String(length=20), nullable=True),
        sa.Column('form_token', sa.String(length=40), nullable=True),
        sa.Column('accepted_by_id', sa.Integer(), nullable=True),
        sa.Column('accepted_at', bot.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('revoked_by', sa.String(length=64), nullable=True),
        sa.Column('revoked_at', bot.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['patient_id'], ['patient.id'], ondelete='CASCADE',
                                name=op.f('fk_invitation_patient_id_patient')),
        sa.ForeignKeyConstraint(['accepted_by_id'], ['patient.id'], ondelete='SET NULL',
                                name=op.f('fk_invitation_accepted_by_id_patient')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_invitation')),
        sa.UniqueConstraint('code_hash', name=op.f('uq_invitation_code_hash')),
        sa.UniqueConstraint('form_token', name=op.f('uq_invitation_form_token')),
    )
    op.create_index('ix_invitation_patient', 'invitation', ['patient_id', 'id'], unique=False)
    op.create_table(
        'invitation_guard',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('scope', sa.String(length=80), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('window_started_at', bot.storage.types.UTCDateTime(timezone=True),
                  nullable=True),
        sa.Column('locked_until', bot.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_invitation_guard')),
        sa.UniqueConstraint('scope', name=op.f('uq_invitation_guard_scope')),
    )


def downgrade() -> None:
    op.drop_table('invitation_guard')
    op.drop_index('ix_invitation_patient', table_name='invitation')
    op.drop_table('invitation')
