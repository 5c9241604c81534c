"""series: a package's remaining sessions booked at a rhythm (issue 19)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 23:40:00.000000

``appointment_series``: one row per series (package, patient, every how many days, who booked
it, when); ``appointment.series_id`` links the series' appointments to it (nullable: single
bookings have none). Nothing to backfill.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.storage.types

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'appointment_series',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('package_id', sa.Integer(), nullable=False),
        sa.Column('patient_id', sa.Integer(), nullable=False),
        sa.Column('every_days', sa.Integer(), nullable=False),
        sa.Column('booked_by', sa.String(length=16), nullable=False),
        sa.Column('created_at', bot.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['package_id'], ['patient_package.id'],
                                name=op.f('fk_appointment_series_package_id_patient_package')),
        sa.ForeignKeyConstraint(['patient_id'], ['patient.id'],
                                name=op.f('fk_appointment_series_patient_id_patient')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_appointment_series')),
    )
    op.create_index(op.f('ix_appointment_series_package_id'), 'appointment_series',
                    ['package_id'], unique=False)
    op.create_index(op.f('ix_appointment_series_patient_id'), 'appointment_series',
                    ['patient_id'], unique=False)
    with op.batch_alter_table('appointment') as batch:
        batch.add_column(sa.Column('series_id', sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f('fk_appointment_series_id_appointment_series'),
                                 'appointment_series', ['series_id'], ['id'])
        batch.create_index(op.f('ix_appointment_series_id'), ['series_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('appointment') as batch:
        batch.drop_index(op.f('ix_appointment_series_id'))
        batch.drop_constraint(op.f('fk_appointment_series_id_appointment_series'),
                              type_='foreignkey')
        batch.drop_column('series_id')
    op.drop_index(op.f('ix_appointment_series_patient_id'), table_name='appointment_series')
    op.drop_index(op.f('ix_appointment_series_package_id'), table_name='appointment_series')
    op.drop_table('appointment_series')
