"""Per-session receipts of insurance-friendly packages (bot/services/receipts.py)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from bot.storage.models.base import Base
from bot.storage.types import Money, UTCDateTime


class SessionReceipt(Base):
    """One receipt the patient can claim: a redeemed session of an insurance-friendly package
    at its share of the price (``value``) with the ``patient_pays`` billed that session, or the
    ``adjustment`` a refund closes the package's receipts with. The id is the receipt number.

    A receipt is never deleted: undoing its redemption voids it (``voided_at``). At most one
    live receipt per appointment and one adjustment per package (partial unique indexes), so
    two desks redeeming at once never receipt one use twice.
    """

    __tablename__ = "session_receipt"
    __table_args__ = (
        Index(
            "uq_session_receipt_live_appointment", "appointment_id", unique=True,
            sqlite_where=text("voided_at IS NULL"), postgresql_where=text("voided_at IS NULL"),
        ),
        Index(
            "uq_session_receipt_adjustment", "package_id", unique=True,
            sqlite_where=text("kind = 'adjustment'"), postgresql_where=text("kind = 'adjustment'"),
        ),
        Index("ix_session_receipt_session_on", "session_on", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    package_id: Mapped[int] = mapped_column(ForeignKey("patient_package.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # session | adjustment
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointment.id"))
    fee_id: Mapped[int | None] = mapped_column(ForeignKey("fee.id"))
    practitioner_id: Mapped[int | None] = mapped_column(ForeignKey("practitioner.id"))
    session_on: Mapped[date] = mapped_column(Date)
    value: Mapped[Decimal] = mapped_column(Money)
    patient_pays: Mapped[Decimal] = mapped_column(Money)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
