"""waitlist: patients waiting for a time to open, and the offers made to them (issue 19)

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06 23:45:00.000000

``waitlist_entry`` (who waits for which fee, practitioner, location, days and parts of day,
until when, in ``id`` order) and ``waitlist_offer`` (a freed time held for one entry until
``expires_at``; one per entry and time). ``clinic.waitlist_batch`` and
``clinic.waitlist_hold_minutes`` come from the set-up file's optional ``[booking]`` table.
Nothing to backfill.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.storage.types

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('clinic') as batch:
        batch.add_column(sa.Column('waitlist_batch', sa.Integer(), server_default='1',
                                   nullable=False))
        batch.add_column(sa.Column('waitlist_hold_minutes', sa.Integer(), server_default='15',
                                   nullable=False))
    op.create_table(
        'waitlist_entry',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('patient_id', sa.Integer(), nullable=False),
        sa.Column('fee_id', sa.Integer(), nullable=False),
        sa.Column('practitioner_id', sa.Integer(), nullable=True),
        sa.Column('location_id', sa.Integer(), nullable=True),
        sa.Column('weekdays', sa.JSON(), nullable=False),
        sa.Column('parts', sa.JSON(), nullable=False),
        sa.Column('until', sa.Date(), nullable=False),
        sa.Column('package_id', sa.Integer(), nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('created_at', bot.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('ended_at', bot.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('appointment_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['patient_id'], ['patient.id'],
                                name=op.f('fk_waitlist_entry_patient_id_patient')),
        sa.ForeignKeyConstraint(['fee_id'], ['fee.id'], name=op.f('fk_waitlist_entry_fee_id_fee')),
        sa.ForeignKeyConstraint(['practitioner_id'], ['practitioner.id'],
                                name=op.f('fk_waitlist_entry_practitioner_id_practitioner')),
        sa.ForeignKeyConstraint(['location_id'], ['location.id'],
                                name=op.f('fk_waitlist_entry_location_id_location')),
        sa.ForeignKeyConstraint(['package_id'], ['patient_package.id'],
                                name=op.f('fk_waitlist_entry_package_id_patient_package')),
        sa.ForeignKeyConstraint(['appointment_id'], ['appointment.id'],
                                name=op.f('fk_waitlist_entry_appointment_id_appointment')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_waitlist_entry')),
    )
    op.create_index('ix_waitlist_entry_status', 'waitlist_entry', ['status', 'id'], unique=False)
    op.create_index(op.f('ix_waitlist_entry_patient_id'), 'waitlist_entry', ['patient_id'],
                    unique=False)
    op.create_table(
        'waitlist_offer',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('entry_id', sa.Integer(), nullable=False),
        sa.Column('practitioner_id', sa.Integer(), nullable=False),
        sa.Column('location_id', sa.Integer(), nullable=False),
        sa.Column('starts_at', bot.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('expires_at', bot.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('created_at', bot.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('answered_at', bot.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('appointment_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['entry_id'], ['waitlist_entry.id'],
                                name=op.f('fk_waitlist_offer_entry_id_waitlist_entry')),
        sa.ForeignKeyConstraint(['practitioner_id'], ['practitioner.id'],
                                name=op.f('fk_waitlist_offer_practitioner_id_practitioner')),
        sa.ForeignKeyConstraint(['location_id'], ['location.id'],
                                name=op.f('fk_waitlist_offer_location_id_location')),
        sa.ForeignKeyConstraint(['appointment_id'], ['appointment.id'],
                                name=op.f('fk_waitlist_offer_appointment_id_appointment')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_waitlist_offer')),
        sa.UniqueConstraint('entry_id', 'practitioner_id', 'starts_at',
                            name=op.f('uq_waitlist_offer_entry_id_practitioner_id_starts_at')),
    )
    op.create_index('ix_waitlist_offer_open', 'waitlist_offer', ['status', 'expires_at', 'id'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_waitlist_offer_open', table_name='waitlist_offer')
    op.drop_table('waitlist_offer')
    op.drop_index(op.f('ix_waitlist_entry_patient_id'), table_name='waitlist_entry')
    op.drop_index('ix_waitlist_entry_status', table_name='waitlist_entry')
    op.drop_table('waitlist_entry')
    with op.batch_alter_table('clinic') as batch:
        batch.drop_column('waitlist_hold_minutes')
        batch.drop_column('waitlist_batch')
