"""The clinic itself: settings, locations, practitioners and their hours, fees, no-show fees."""

from __future__ import annotations

from datetime import time
from decimal import Decimal

from sqlalchemy import JSON, Column, ForeignKey, Integer, String, Table, Time, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.storage.models.base import Base
from bot.storage.types import Money


class Clinic(Base):
    """The one clinic this database serves (a single row, id 1), with its booking policy."""

    __tablename__ = "clinic"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64))
    currency: Mapped[str] = mapped_column(String(3))
    locale: Mapped[str] = mapped_column(String(20))
    phone: Mapped[str | None] = mapped_column(String(20))
    slot_minutes: Mapped[int] = mapped_column(default=15)
    booking_horizon_days: Mapped[int] = mapped_column(default=28)
    min_notice_minutes: Mapped[int] = mapped_column(default=120)
    cancel_notice_hours: Mapped[int] = mapped_column(default=24)
    quiet_start: Mapped[time | None] = mapped_column(Time)
    quiet_end: Mapped[time | None] = mapped_column(Time)
    no_show_grace_minutes: Mapped[int] = mapped_column(default=15)
    unpaid_invoice_days: Mapped[list[int]] = mapped_column(JSON, default=list)
    appointment_hours_before: Mapped[int | None] = mapped_column()
    package_expiry_days_before: Mapped[int | None] = mapped_column()
    waitlist_batch: Mapped[int] = mapped_column(default=1, server_default="1")
    waitlist_hold_minutes: Mapped[int] = mapped_column(default=15, server_default="15")
    # How long records are kept (the set-up file's optional [retention], bot/services/retention).
    message_texts_days: Mapped[int] = mapped_column(default=90, server_default="90")
    inbound_ids_days: Mapped[int] = mapped_column(default=400, server_default="400")
    audit_years: Mapped[int] = mapped_column(default=7, server_default="7")
    # Booking without a package asks this deposit (None: no deposit; issue 20), and holds the
    # time unpaid for deposit_hold_minutes (bot/services/deposits.py).
    deposit: Mapped[Decimal | None] = mapped_column(Money)
    deposit_hold_minutes: Mapped[int] = mapped_column(default=120, server_default="120")
    # One more each time this row, a location, practitioner, their hours or a fee changes (in
    # the same transaction), so every process knows when its copy of the set-up is out of date
    # (bot.services.clinic_setup).
    setup_version: Mapped[int] = mapped_column(default=0, server_default="0")


class Location(Base):
    """A place where practitioners see patients."""

    __tablename__ = "location"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(String(300))


fee_practitioner = Table(
    "fee_practitioner",
    Base.metadata,
    Column("fee_id", ForeignKey("fee.id", ondelete="CASCADE"), primary_key=True),
    Column("practitioner_id", ForeignKey("practitioner.id", ondelete="CASCADE"), primary_key=True),
)


class Practitioner(Base):
    """Someone who treats patients; their hours say where and when."""

    __tablename__ = "practitioner"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    title: Mapped[str | None] = mapped_column(String(200))

    hours: Mapped[list[WorkingHours]] = relationship(
        back_populates="practitioner", cascade="all, delete-orphan", lazy="raise"
    )  # loaded only where asked for: every package and fee brings its practitioners along


class WorkingHours(Base):
    """One weekly block: a practitioner at a location on a weekday (0 = Monday), local time."""

    __tablename__ = "working_hours"
    __table_args__ = (UniqueConstraint("practitioner_id", "weekday", "start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("practitioner.id", ondelete="CASCADE"))
    location_id: Mapped[int] = mapped_column(ForeignKey("location.id"))
    weekday: Mapped[int] = mapped_column(Integer)
    start: Mapped[time] = mapped_column(Time)
    end: Mapped[time] = mapped_column(Time)

    practitioner: Mapped[Practitioner] = relationship(back_populates="hours")


class Fee(Base):
    """A billable treatment type (what an appointment is for)."""

    __tablename__ = "fee"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    minutes: Mapped[int] = mapped_column()
    price: Mapped[Decimal] = mapped_column(Money)

    practitioners: Mapped[list[Practitioner]] = relationship(
        secondary=fee_practitioner, lazy="raise"
    )  # loaded only where asked for: every package brings its fees along


class NoShowFee(Base):
    """A fee the clinic may charge for a missed appointment."""

    __tablename__ = "no_show_fee"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    price: Mapped[Decimal] = mapped_column(Money)
