"""The outbox: every proactive message, once, by its purpose key (see DESIGN.md)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from bot.storage.models.base import Base
from bot.storage.types import UTCDateTime


class OutboxMessage(Base):
    """A message to a patient or a staff chat, created once per ``purpose`` key.

    ``kind`` names what it is (``no_show``, ``registration``, ``unpaid`` ...) and ``params``
    what the sender needs to render it in the recipient's language. ``status``: pending |
    claimed | sent | failed | skipped.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("purpose"),
        Index("ix_outbox_status_due", "status", "not_before"),
        # The retention sweep reads only the rows still holding a text (bot/services/retention).
        Index("ix_outbox_text_kept", "created_at", "id", sqlite_where=text("body IS NOT NULL"),
              postgresql_where=text("body IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    purpose: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patient.id"))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    params: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    body: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    not_before: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(default=0)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    channel: Mapped[str | None] = mapped_column(String(16))
    provider_message_id: Mapped[str | None] = mapped_column(String(100))
    delivery_status: Mapped[str | None] = mapped_column(String(32))
    last_error: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
