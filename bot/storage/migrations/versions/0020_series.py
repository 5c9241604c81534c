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

FK_NAME = 'fk_appointment_series_id_appointment_series'


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
    # Plain ALTER TABLE ... ADD COLUMN, never a batch copy of appointment: on SQLite the copy
    # drops the table that redemptions, no-shows, invoices and receipts point at, which foreign
    # keys refuse once a clinic has any of them. SQLite takes the reference inline.
    if op.get_bind().dialect.name == 'sqlite':
        op.execute('ALTER TABLE appointment ADD COLUMN series_id INTEGER '
                   f'CONSTRAINT {FK_NAME} REFERENCES appointment_series (id)')
    else:
        op.add_column('appointment', sa.Column('series_id', sa.Integer(), nullable=True))
        op.create_foreign_key(FK_NAME, 'appointment', 'appointment_series', ['series_id'],
                              ['id'])
    op.create_index(op.f('ix_appointment_series_id'), 'appointment', ['series_id'],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_appointment_series_id'), table_name='appointment')
    if op.get_bind().dialect.name == 'sqlite':  # DROP COLUMN takes its inline reference along
        op.execute('ALTER TABLE appointment DROP COLUMN series_id')
    else:
        op.drop_constraint(FK_NAME, 'appointment', type_='foreignkey')
        op.drop_column('appointment', 'series_id')
    op.drop_index(op.f('ix_appointment_series_patient_id'), table_name='appointment_series')
    op.drop_index(op.f('ix_appointment_series_package_id'), table_name='appointment_series')
    op.drop_table('appointment_series')
