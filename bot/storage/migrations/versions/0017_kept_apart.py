"""kept apart: registrations staff decided are not the profile they resemble (issue 17)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 19:30:00.000000

``kept_apart``: one row per pair of patients staff kept separate (lowest id first), with who
and when; the registrations queue and ``clinicbot staff duplicates`` leave such pairs out.
Indexes for the console's pages (issue 17 benchmark): ``patient.birth_date`` (look-alike
registrations), ``patient_package.purchased_on`` (package sales in a range) and
``appointment.starts_at`` (package usage and no-shows in a range, every practitioner). Nothing to
backfill.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.storage.types

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'kept_apart',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('low_id', sa.Integer(), nullable=False),
        sa.Column('high_id', sa.Integer(), nullable=False),
        sa.Column('kept_by', sa.String(length=64), nullable=False),
        sa.Column('kept_at', bot.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint('low_id < high_id', name=op.f('ck_kept_apart_ordered')),
        sa.ForeignKeyConstraint(['low_id'], ['patient.id'], ondelete='CASCADE',
                                name=op.f('fk_kept_apart_low_id_patient')),
        sa.ForeignKeyConstraint(['high_id'], ['patient.id'], ondelete='CASCADE',
                                name=op.f('fk_kept_apart_high_id_patient')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_kept_apart')),
        sa.UniqueConstraint('low_id', 'high_id', name=op.f('uq_kept_apart_low_id_high_id')),
    )
    op.create_index('ix_kept_apart_high', 'kept_apart', ['high_id', 'low_id'], unique=False)
    op.create_index('ix_appointment_starts', 'appointment', ['starts_at', 'id'], unique=False)
    op.create_index('ix_patient_birth_date', 'patient', ['birth_date'], unique=False)
    op.create_index('ix_patient_package_purchased_on', 'patient_package', ['purchased_on', 'id'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_patient_package_purchased_on', table_name='patient_package')
    op.drop_index('ix_patient_birth_date', table_name='patient')
    op.drop_index('ix_appointment_starts', table_name='appointment')
    op.drop_index('ix_kept_apart_high', table_name='kept_apart')
    op.drop_table('kept_apart')
