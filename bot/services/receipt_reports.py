"""Insurance-friendly packages in the reports (issue 18, item 2), beside
:mod:`bot.services.reports` (which stays as it is).

* :func:`insurance_sales` -- the insurance-friendly packages sold in a range (purchase date, as
  the package-sales report counts them): how many, their price, what was collected and what
  their live receipts add up to so far.
* :func:`receipts_by_month` -- the live receipts of sessions held in a range (by the session's
  local date), per month and package: how many, their session value and what patients paid at
  those sessions; refund adjustments are their own rows.

A fixed number of queries whatever the number of receipts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, func, select, type_coerce

from bot.services.billing import PRICE_KINDS, ZERO
from bot.storage.models import Invoice, PatientPackage, Payment, SessionReceipt
from bot.storage.types import Money
from bot.storage.uow import UnitOfWork


def _money(expr: Any) -> ColumnElement[Decimal]:
    return type_coerce(func.coalesce(expr, 0), Money)


@dataclass(frozen=True)
class InsuranceSales:
    """Insurance-friendly packages sold in the range, and their receipts so far."""

    count: int
    price: Decimal
    collected: Decimal
    receipted: Decimal


async def insurance_sales(uow: UnitOfWork, date_from: date, date_to: date) -> InsuranceSales:
    """The insurance-friendly sales of ``date_from`` to ``date_to`` (transfers are no sale)."""
    sold = (
        select(PatientPackage.id)
        .where(PatientPackage.insurance_friendly.is_(True),
               PatientPackage.transferred_from_id.is_(None),
               PatientPackage.purchased_on >= date_from, PatientPackage.purchased_on <= date_to)
    ).subquery()
    count, price = (await uow.session.execute(
        select(func.count(), _money(func.sum(PatientPackage.price)))
        .where(PatientPackage.id.in_(select(sold.c.id))))).one()
    collected = await uow.session.scalar(
        select(_money(func.sum(Payment.amount)))
        .join(Invoice, Invoice.id == Payment.invoice_id)
        .where(Invoice.package_id.in_(select(sold.c.id)), Invoice.kind.in_(PRICE_KINDS)))
    receipted = await uow.session.scalar(
        select(_money(func.sum(SessionReceipt.value)))
        .where(SessionReceipt.package_id.in_(select(sold.c.id)),
               SessionReceipt.voided_at.is_(None)))
    return InsuranceSales(count=count, price=price or ZERO, collected=collected or ZERO,
                          receipted=receipted or ZERO)


@dataclass(frozen=True)
class ReceiptMonth:
    """Live receipts of one month and package (``kind``: session | adjustment)."""

    period: str
    package_name: str
    kind: str
    receipts: int
    value: Decimal
    patient_pays: Decimal


async def receipts_by_month(uow: UnitOfWork, date_from: date, date_to: date) -> list[ReceiptMonth]:
    """Receipts dated ``date_from`` to ``date_to``, per month, package and kind, in order."""
    rows = await uow.session.execute(
        select(SessionReceipt.session_on, PatientPackage.name, SessionReceipt.kind,
               SessionReceipt.value, SessionReceipt.patient_pays)
        .join(PatientPackage, PatientPackage.id == SessionReceipt.package_id)
        .where(SessionReceipt.voided_at.is_(None), SessionReceipt.session_on >= date_from,
               SessionReceipt.session_on <= date_to)
    )
    months: dict[tuple[str, str, str], list[Any]] = {}
    for day, name, kind, value, pays in rows.tuples():
        entry = months.setdefault((day.strftime("%Y-%m"), name, kind), [0, ZERO, ZERO])
        entry[0] += 1
        entry[1] += value
        entry[2] += pays
    return [ReceiptMonth(period, name, kind, count, value, pays)
            for (period, name, kind), (count, value, pays) in sorted(months.items())]
