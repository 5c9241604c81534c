"""The audit log: one row per staff action, who did it, from which face, and what it changed.

Rows hold ids and figures only (never a message text, a phone number or a name): ``before``
and ``after`` carry the money (minor units and currency) and the uses the action changed, and
``summary`` is a short, non-personal description. Written by :mod:`bot.services.audit` in the
same transaction as the action it records.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from bot.storage.models.base import Base
from bot.storage.types import UTCDateTime

FACES = ("cli", "telegram", "console")


class AuditEntry(Base):
    """A staff action: ``staff`` (a ``[[staff]]`` key) did ``action`` from ``face`` at ``at``.

    ``patient_id``, ``package_id``, ``appointment_id`` and ``invoice_id`` name what it was done
    to (plain ids, not foreign keys: an audit row outlives what it describes, e.g. a merged
    patient). Indexed newest first as a whole, per patient, per staff member and per action.
    """

    __tablename__ = "audit_entry"
    __table_args__ = (
        Index("ix_audit_entry_at", "at", "id"),
        Index("ix_audit_entry_patient", "patient_id", "at", "id"),
        Index("ix_audit_entry_staff", "staff", "at", "id"),
        Index("ix_audit_entry_action", "action", "at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    staff: Mapped[str] = mapped_column(String(64))
    face: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(64))
    patient_id: Mapped[int | None] = mapped_column()
    package_id: Mapped[int | None] = mapped_column()
    appointment_id: Mapped[int | None] = mapped_column()
    invoice_id: Mapped[int | None] = mapped_column()
    before: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    after: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    summary: Mapped[str] = mapped_column(String(200), default="")
