"""The staff console's state (``/desk/``): passwords, sessions and login lock-outs.

Everything lives in the database, never in process memory, so several ``clinicbot serve``
instances on one PostgreSQL database share it (:mod:`bot.services.desk_auth`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from bot.storage.models.base import Base
from bot.storage.types import UTCDateTime


class StaffPassword(Base):
    """A staff member's console password, as an argon2 hash (never the password itself)."""

    __tablename__ = "staff_password"

    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    set_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DeskSession(Base):
    """A logged-in browser: the SHA-256 of its cookie's token, its CSRF token, its ages."""

    __tablename__ = "desk_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DeskLoginGuard(Base):
    """Failed console logins of one scope (``user:KEY`` or ``client:ADDRESS``) since
    ``window_started_at``, and its lock-out if any."""

    __tablename__ = "desk_login_guard"

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(120), unique=True)
    failures: Mapped[int] = mapped_column(default=0)
    window_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
