"""The desk's inbox: what patients sent with "Talk to the clinic", and staff alerts (issue 17).

One :class:`InboxItem` per message or alert, however many staff chats it was sent to (``key``
is the alert's outbox purpose without its ``:staff:<id>`` part), with one handled state shared
by every staff member; :class:`InboxReply` rows are the desk's answers to the patient.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from bot.storage.models.base import Base
from bot.storage.types import UTCDateTime


class InboxItem(Base):
    """A patient's message (``kind`` ``message``) or a staff alert (``no_show``, ``unpaid``...).

    ``text``: only a patient's message has one (health data: kept here, never logged, never
    copied into the outbox); an alert is written from ``params`` (ids only) when it is read.
    ``handled_at`` / ``handled_by`` (a staff key): None while it waits for the desk.
    """

    __tablename__ = "inbox_item"
    __table_args__ = (
        UniqueConstraint("key"),
        Index("ix_inbox_item_newest", "created_at", "id"),
        Index("ix_inbox_item_handled", "handled_at"),
        Index("ix_inbox_item_text_kept", "created_at", "id", sqlite_where=text("text IS NOT NULL"),
              postgresql_where=text("text IS NOT NULL")),  # the retention sweep's
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patient.id"))
    channel: Mapped[str | None] = mapped_column(String(16))
    text: Mapped[str | None] = mapped_column(Text)
    params: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    handled_by: Mapped[str | None] = mapped_column(String(64))


class InboxReply(Base):
    """The desk's answer to an item's patient: who wrote it, when, and its outbox row."""

    __tablename__ = "inbox_reply"
    __table_args__ = (
        Index("ix_inbox_reply_item", "item_id", "id"),
        Index("ix_inbox_reply_text_kept", "created_at", "id", sqlite_where=text("text <> ''"),
              postgresql_where=text("text <> ''")),  # the retention sweep's
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("inbox_item.id", ondelete="CASCADE"))
    staff_key: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"))
