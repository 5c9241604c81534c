"""The waitlist: patients waiting for a time to open, and the offers made to them (issue 19)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.storage.models.base import Base
from bot.storage.types import UTCDateTime


class WaitlistEntry(Base):
    """A patient waiting for a time of ``fee`` to open, in waitlist order (``id``).

    ``practitioner_id`` / ``location_id``: None means any. ``weekdays`` (0 = Monday) and
    ``parts`` (morning | afternoon | evening) are the days and parts of day that suit; empty
    means any. ``package_id``: the package the booking should use (None: pre-selected as usual).
    ``status``: waiting | booked | left | removed.
    """

    __tablename__ = "waitlist_entry"
    __table_args__ = (Index("ix_waitlist_entry_status", "status", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    fee_id: Mapped[int] = mapped_column(ForeignKey("fee.id"))
    practitioner_id: Mapped[int | None] = mapped_column(ForeignKey("practitioner.id"))
    location_id: Mapped[int | None] = mapped_column(ForeignKey("location.id"))
    weekdays: Mapped[list[int]] = mapped_column(JSON, default=list)
    parts: Mapped[list[str]] = mapped_column(JSON, default=list)
    until: Mapped[date] = mapped_column(Date)
    package_id: Mapped[int | None] = mapped_column(ForeignKey("patient_package.id"))
    status: Mapped[str] = mapped_column(String(16), default="waiting")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointment.id"))


class WaitlistOffer(Base):
    """A freed time offered to one waiting patient, held for them until ``expires_at``.

    ``status``: open | accepted | declined | gone (someone else took it, or it is no longer
    free) | expired | withdrawn (the entry ended) | skipped (never sent: the patient freed this
    time themselves, by cancelling or moving it). One offer per entry and time: a time is never
    offered twice to the same entry.
    """

    __tablename__ = "waitlist_offer"
    __table_args__ = (
        UniqueConstraint("entry_id", "practitioner_id", "starts_at"),
        Index("ix_waitlist_offer_open", "status", "expires_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("waitlist_entry.id"))
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("practitioner.id"))
    location_id: Mapped[int] = mapped_column(ForeignKey("location.id"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointment.id"))
