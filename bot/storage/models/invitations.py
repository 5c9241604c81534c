"""Invitations for a family member to manage a patient (issue 18), and guesses at their codes.

An :class:`Invitation` holds only a hash of its one-time code (the code itself is shown to the
desk once, at creation or resend). ``status`` is ``open`` until it is ``accepted`` (by
``accepted_by_id``) or ``revoked``; an open invitation past ``expires_at`` is expired (derived,
never stored). ``form_token``: the console form it was created from (a form sent twice, e.g.
by reloading the page, creates one invitation). ``round`` counts the codes issued (a resend
issues a new code): an SMS queued for an older round is not sent. :class:`InvitationGuard`
counts wrong codes per chat and overall, in the database, so every instance throttles alike
(:mod:`bot.services.invitation_codes`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from bot.storage.models.base import Base
from bot.storage.types import UTCDateTime

OPEN, ACCEPTED, REVOKED = "open", "accepted", "revoked"


class Invitation(Base):
    """One invitation to manage ``patient_id``; see the module docstring."""

    __tablename__ = "invitation"
    __table_args__ = (Index("ix_invitation_patient", "patient_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id", ondelete="CASCADE"))
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(12), default=OPEN)
    round: Mapped[int] = mapped_column(default=1)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sms_phone: Mapped[str | None] = mapped_column(String(20))
    form_token: Mapped[str | None] = mapped_column(String(40), unique=True)
    accepted_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("patient.id", ondelete="SET NULL"))
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by: Mapped[str | None] = mapped_column(String(64))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class InvitationGuard(Base):
    """Wrong invitation codes of one scope since ``window_started_at``, and its lock-out."""

    __tablename__ = "invitation_guard"

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(80), unique=True)
    failures: Mapped[int] = mapped_column(default=0)
    window_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
