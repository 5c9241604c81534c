"""Appointments and the no-shows raised from them (RULES.md 3-8, 20)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from bot.storage.models.base import Base
from bot.storage.types import UTCDateTime

LIVE_STATUSES = ("booked", "arrived", "no_show")


class Appointment(Base):
    """A patient's appointment with a practitioner at a location, for a fee.

    ``status``: booked | arrived | no_show | cancelled. ``package_id`` is set while a package
    covers it; ``package_use`` says whether its use is ``reserved`` or ``redeemed``.
    Live appointments (not cancelled) of one practitioner never overlap: checked under a lock,
    and on PostgreSQL also by an exclusion constraint (see the migrations).
    """

    __tablename__ = "appointment"
    __table_args__ = (
        Index("ix_appointment_practitioner_starts", "practitioner_id", "starts_at"),
        Index("ix_appointment_patient_starts", "patient_id", "starts_at"),
        Index("ix_appointment_starts", "starts_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"))
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("practitioner.id"))
    location_id: Mapped[int] = mapped_column(ForeignKey("location.id"))
    fee_id: Mapped[int] = mapped_column(ForeignKey("fee.id"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="booked")
    package_id: Mapped[int | None] = mapped_column(ForeignKey("patient_package.id"), index=True)
    package_use: Mapped[str | None] = mapped_column(String(16))  # reserved | redeemed
    series_id: Mapped[int | None] = mapped_column(  # booked as part of a series (issue 19)
        ForeignKey("appointment_series.id"), index=True
    )
    booked_by: Mapped[str] = mapped_column(String(16), default="staff")  # patient | staff
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    arrived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class NoShow(Base):
    """A no-show raised to staff, and how they resolved it (undoable, RULES.md 8).

    ``resolution``: None (open) | redeemed | fee. ``before`` keeps what undo must restore.
    """

    __tablename__ = "no_show"

    id: Mapped[int] = mapped_column(primary_key=True)
    appointment_id: Mapped[int] = mapped_column(ForeignKey("appointment.id"), unique=True)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(String(16))  # marked | not_arrived
    resolution: Mapped[str | None] = mapped_column(String(16))
    no_show_fee_id: Mapped[int | None] = mapped_column(ForeignKey("no_show_fee.id"))
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoice.id"))
    resolved_by: Mapped[str | None] = mapped_column(String(200))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(default=0)
