"""A package's remaining sessions booked as a series (issue 19): one row per series.

The appointments of a series point to it (``appointment.series_id``); each of them holds one
use of the package like any single booking, so cancelling one returns one use and cancelling
the rest of the series returns them all (:mod:`bot.services.series`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from bot.storage.models.base import Base
from bot.storage.types import UTCDateTime


class AppointmentSeries(Base):
    """Sessions of ``package_id`` for ``patient_id`` booked every ``every_days`` days."""

    __tablename__ = "appointment_series"

    id: Mapped[int] = mapped_column(primary_key=True)
    package_id: Mapped[int] = mapped_column(ForeignKey("patient_package.id"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    every_days: Mapped[int]
    booked_by: Mapped[str] = mapped_column(String(16), default="patient")  # patient | staff
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
