"""Checkout sessions a payment provider opened for an invoice (issue 20, payment links)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.storage.models.base import Base
from bot.storage.types import Money, UTCDateTime


class CheckoutSession(Base):
    """One hosted checkout page (Stripe Checkout Session) for what an invoice owed.

    One row per invoice, amount and ``generation``: the provider call that made it carried the
    idempotency key of those three, so a retried or concurrent request makes one session. A
    session still open and not near its ``expires_at`` is offered again; an expired one is
    replaced by the next generation, never reused. ``status``: open | complete | expired.
    """

    __tablename__ = "checkout_session"
    __table_args__ = (UniqueConstraint("invoice_id", "amount", "generation"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoice.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3))
    generation: Mapped[int] = mapped_column()
    provider: Mapped[str] = mapped_column(String(16))
    session_id: Mapped[str] = mapped_column(String(200), unique=True)
    url: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
