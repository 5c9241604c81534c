"""Closed times: the clinic closed (a holiday), or a practitioner's time off (RULES.md 20)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from bot.storage.models.base import Base
from bot.storage.types import UTCDateTime

CLOSURE_FROM_FILE = "file"
CLOSURE_FROM_DESK = "desk"


class Closure(Base):
    """A stretch of time ``[starts_at, ends_at)`` (UTC) in which nothing is offered or booked.

    ``practitioner_id`` None: the clinic is closed, at ``location_id`` or (None) everywhere;
    set: that practitioner's time off, at every location. ``source`` says who made it
    (``file``: the set-up file, which takes it back when it stops listing it; ``desk``).
    """

    __tablename__ = "closure"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("practitioner_id IS NULL OR location_id IS NULL", name="time_off_anywhere"),
        Index("ix_closure_ends", "ends_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    practitioner_id: Mapped[int | None] = mapped_column(
        ForeignKey("practitioner.id", ondelete="CASCADE"))
    location_id: Mapped[int | None] = mapped_column(ForeignKey("location.id"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str | None] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
