"""Inbound messages seen, by the channel's own id: each is acted on once (DESIGN.md, SMS).

A webhook provider may deliver the same message twice (a retry after a timeout, a replay). The
first delivery claims the row (``INSERT ... ON CONFLICT DO NOTHING`` on ``channel`` +
``external_id``) before acting; ``reply`` holds the answer once it was given, so a repeat gets
the same answer without acting again.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.storage.models.base import Base
from bot.storage.types import UTCDateTime


class InboundMessage(Base):
    """One inbound message (``sms``/``MessageSid``, ``telegram``/``update_id``...).

    ``reply`` is None while the first delivery is still being handled.
    """

    __tablename__ = "inbound_message"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(100))
    reply: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
