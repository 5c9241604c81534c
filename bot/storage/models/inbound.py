"""Inbound messages seen, by the channel's own id: each is acted on once (DESIGN.md, SMS).

A webhook provider may deliver the same message twice (a retry after a timeout, a replay). The
first delivery claims the row (``INSERT ... ON CONFLICT DO NOTHING`` on ``channel`` +
``external_id``) before acting, under a token of its own (``owner``) and a lease
(``lease_until``) that another delivery takes over once it ran out; ``answered_at`` is set, with
``reply`` (the answer given, kept a few days only), when the message was acted on, so a repeat
is answered without acting again (see :mod:`bot.services.inbound`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.storage.models.base import Base
from bot.storage.types import UTCDateTime


class InboundMessage(Base):
    """One inbound message (``sms``/``MessageSid``, ``telegram``/``update_id``...).

    ``answered_at`` is None while a delivery is still handling it (``owner`` holds it until
    ``lease_until``); ``reply`` is None again once the answer is forgotten.
    """

    __tablename__ = "inbound_message"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(100))
    reply: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    owner: Mapped[str | None] = mapped_column(String(32))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
