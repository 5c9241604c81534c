"""Pairs of patient profiles that staff decided are different people (issue 17, Keep separate).

An online registration that resembles a profile on file (same phone, or same name and birth
date) waits in the registrations queue until staff merge it or keep it separate. Keeping it
separate records the pair here, lowest id first, with who decided and when, so the queue and
``clinicbot staff duplicates`` stop offering it; undoing the decision deletes the row.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.storage.models.base import Base
from bot.storage.types import UTCDateTime


class KeptApart(Base):
    """Patients ``low_id`` and ``high_id`` (``low_id < high_id``) are not the same person."""

    __tablename__ = "kept_apart"
    __table_args__ = (
        UniqueConstraint("low_id", "high_id"),
        CheckConstraint("low_id < high_id", name="ordered"),
        Index("ix_kept_apart_high", "high_id", "low_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    low_id: Mapped[int] = mapped_column(ForeignKey("patient.id", ondelete="CASCADE"))
    high_id: Mapped[int] = mapped_column(ForeignKey("patient.id", ondelete="CASCADE"))
    kept_by: Mapped[str] = mapped_column(String(64))
    kept_at: Mapped[datetime] = mapped_column(UTCDateTime)
