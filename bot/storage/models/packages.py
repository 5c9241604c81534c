"""Packages: templates the clinic sells and the copies patients own (RULES.md 1-12)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Column, Date, ForeignKey, Index, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.storage.models.base import Base
from bot.storage.models.clinic import Fee, Location, Practitioner
from bot.storage.types import Money, UTCDateTime


def _link(name: str, owner: str, other: str) -> Table:
    return Table(
        name,
        Base.metadata,
        Column(f"{owner}_id", ForeignKey(f"{owner}.id", ondelete="CASCADE"), primary_key=True),
        Column(f"{other}_id", ForeignKey(f"{other}.id", ondelete="CASCADE"), primary_key=True),
    )


template_fee = _link("template_fee", "package_template", "fee")
template_practitioner = _link("template_practitioner", "package_template", "practitioner")
template_location = _link("template_location", "package_template", "location")
package_fee = _link("package_fee", "patient_package", "fee")
package_practitioner = _link("package_practitioner", "patient_package", "practitioner")
package_location = _link("package_location", "patient_package", "location")


class PackageTemplate(Base):
    """What the clinic sells: N uses of eligible fees. Empty practitioners/locations = any."""

    __tablename__ = "package_template"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    price: Mapped[Decimal] = mapped_column(Money)
    uses: Mapped[int] = mapped_column()
    patient_pays: Mapped[Decimal] = mapped_column(Money)
    valid_days: Mapped[int | None] = mapped_column()
    online_purchase: Mapped[bool] = mapped_column(default=False)
    installments: Mapped[int] = mapped_column(default=1)
    # Per-session receipts instead of one lump-sum receipt (bot/services/receipts.py).
    insurance_friendly: Mapped[bool] = mapped_column(default=False)

    fees: Mapped[list[Fee]] = relationship(secondary=template_fee, lazy="selectin")
    practitioners: Mapped[list[Practitioner]] = relationship(
        secondary=template_practitioner, lazy="selectin"
    )
    locations: Mapped[list[Location]] = relationship(secondary=template_location, lazy="selectin")


class PatientPackage(Base):
    """A package a patient owns: the template's terms copied at sale, and its use counters.

    ``uses == redeemed + booked + available`` and ``available >= 0`` hold in the database
    itself (check constraints), so no race can break them.
    """

    __tablename__ = "patient_package"
    __table_args__ = (
        CheckConstraint("available >= 0", name="available_not_negative"),
        CheckConstraint("booked >= 0", name="booked_not_negative"),
        CheckConstraint("redeemed >= 0", name="redeemed_not_negative"),
        CheckConstraint("uses = redeemed + booked + available", name="uses_add_up"),
        Index("ix_patient_package_purchased_on", "purchased_on", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    template_id: Mapped[int | None] = mapped_column(ForeignKey("package_template.id"))
    name: Mapped[str] = mapped_column(String(200))
    price: Mapped[Decimal] = mapped_column(Money)
    patient_pays: Mapped[Decimal] = mapped_column(Money)
    installments: Mapped[int] = mapped_column(default=1)
    uses: Mapped[int] = mapped_column()
    redeemed: Mapped[int] = mapped_column(default=0)
    booked: Mapped[int] = mapped_column(default=0)
    available: Mapped[int] = mapped_column()
    purchased_on: Mapped[date] = mapped_column(Date)
    expires_on: Mapped[date | None] = mapped_column(Date)
    paid_enough: Mapped[bool] = mapped_column(default=False)
    sold_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    transferred_from_id: Mapped[int | None] = mapped_column(
        ForeignKey("patient_package.id"), index=True
    )
    refunded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    refund_amount: Mapped[Decimal | None] = mapped_column(Money)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Insurance-friendly (bot/services/receipts.py): each redeemed use gets its own receipt at
    # ``session_value``; the package's uses are worth ``receipt_value`` together (its price, or
    # what a transfer brought), less ``value_transferred`` (what its transfers took away).
    insurance_friendly: Mapped[bool] = mapped_column(default=False)
    session_value: Mapped[Decimal | None] = mapped_column(Money)
    receipt_value: Mapped[Decimal | None] = mapped_column(Money)
    value_transferred: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))

    # What the package covers. Read as ids through bot.services.package_scope; the rows are
    # loaded only on purpose (a selectinload option), never as a side effect of loading a
    # package.
    fees: Mapped[list[Fee]] = relationship(secondary=package_fee, lazy="raise")
    practitioners: Mapped[list[Practitioner]] = relationship(
        secondary=package_practitioner, lazy="raise"
    )
    locations: Mapped[list[Location]] = relationship(secondary=package_location, lazy="raise")


class PackageRedemption(Base):
    """One use redeemed: at arrival, as a no-show choice, or before an import."""

    __tablename__ = "package_redemption"

    id: Mapped[int] = mapped_column(primary_key=True)
    package_id: Mapped[int] = mapped_column(ForeignKey("patient_package.id"), index=True)
    appointment_id: Mapped[int | None] = mapped_column(
        ForeignKey("appointment.id"), unique=True
    )
    kind: Mapped[str] = mapped_column(String(16))  # arrival | no_show | imported
    practitioner_id: Mapped[int | None] = mapped_column(ForeignKey("practitioner.id"))
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoice.id"))
    redeemed_at: Mapped[datetime] = mapped_column(UTCDateTime)
