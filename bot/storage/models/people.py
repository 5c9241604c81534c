"""People: patients (with guardians), staff, and the chat links that identify them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Date,
    ForeignKey,
    Index,
    String,
    Table,
    UniqueConstraint,
    false,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.storage.models.base import Base
from bot.storage.types import UTCDateTime

# ``source``: who made the link, and so who may take it back. ``file``: the set-up file (a
# reload that no longer lists it revokes it); ``desk``: staff (never revoked by a reload).
GUARDIAN_FROM_FILE = "file"
GUARDIAN_FROM_DESK = "desk"
guardianship = Table(
    "guardianship",
    Base.metadata,
    Column("guardian_id", ForeignKey("patient.id", ondelete="CASCADE"), primary_key=True),
    Column("ward_id", ForeignKey("patient.id", ondelete="CASCADE"), primary_key=True),
    Column("source", String(8), nullable=False, server_default=GUARDIAN_FROM_DESK),
)


class Patient(Base):
    """A patient profile. ``guardians`` are the patients whose accounts may act for this one."""

    __tablename__ = "patient"
    __table_args__ = (Index("ix_patient_phone", "phone"),
                      Index("ix_patient_birth_date", "birth_date"))

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str | None] = mapped_column(String(64), unique=True)
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(200))
    birth_date: Mapped[date | None] = mapped_column(Date)
    locale: Mapped[str | None] = mapped_column(String(20))
    online_registration: Mapped[bool] = mapped_column(default=False)
    opted_out: Mapped[bool] = mapped_column(default=False)
    telegram_user_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("patient.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Personal data erased (issue 21, bot/services/erasure.py): never messaged, matched or
    # linked again; the row stays so invoices, payments and appointments keep their owner.
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    guardians: Mapped[list[Patient]] = relationship(
        secondary=guardianship,
        primaryjoin=lambda: Patient.id == guardianship.c.ward_id,
        secondaryjoin=lambda: Patient.id == guardianship.c.guardian_id,
        back_populates="wards",
        lazy="raise",  # loaded where asked for, not with every patient
        join_depth=1,
    )
    wards: Mapped[list[Patient]] = relationship(
        secondary=guardianship,
        primaryjoin=lambda: Patient.id == guardianship.c.guardian_id,
        secondaryjoin=lambda: Patient.id == guardianship.c.ward_id,
        back_populates="guardians",
        lazy="raise",  # loaded where asked for, not with every patient
        join_depth=1,
    )

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


class Staff(Base):
    """A staff member who may receive alerts in chat and act at the desk.

    ``active`` is cleared when the set-up file no longer lists them (the row stays: sales and
    messages refer to it); ``chat_from_file``: the set-up file gave ``telegram_chat_id`` (not
    ``/staff CODE``), so a reload without it takes the chat back. ``phone`` (E.164, from the
    set-up file): alerts go there by SMS when no Telegram chat reaches the member.
    """

    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    practitioner_id: Mapped[int | None] = mapped_column(ForeignKey("practitioner.id"))
    telegram_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    phone: Mapped[str | None] = mapped_column(String(20))
    alerts: Mapped[list[str]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(default=True, server_default=true())
    chat_from_file: Mapped[bool] = mapped_column(default=False, server_default=false())


class Conversation(Base):
    """Where a chat stands: one row per channel address, updated with the action it leads to."""

    __tablename__ = "conversation"
    __table_args__ = (UniqueConstraint("channel", "address"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(64))
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patient.id"))
    dialog: Mapped[str | None] = mapped_column(String(64))
    step: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
