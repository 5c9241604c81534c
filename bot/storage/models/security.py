"""Guessing the staff code: wrong ``/staff CODE`` attempts, counted in the database.

One row per scope (``all`` for every chat together, ``chat:<id>`` for one Telegram chat), so
that every instance of ``clinicbot serve`` sees the same counts and lock-outs
(:mod:`bot.services.staff_code`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from bot.storage.models.base import Base
from bot.storage.types import UTCDateTime


class StaffCodeGuard(Base):
    """Wrong staff codes of one scope since ``window_started_at``, and its lock-out if any."""

    __tablename__ = "staff_code_guard"

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(40), unique=True)
    failures: Mapped[int] = mapped_column(default=0)
    window_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
