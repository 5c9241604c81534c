"""What an audit entry keeps of the things an action touched: money and uses, ids only.

:func:`figures` reads, for the ids given, a package's price, collected, refunded amounts and
uses (redeemed / booked / available) and expiry; an invoice's amount, paid and status; a
patient's credit; an appointment's status, start and package (and that package's figures).
Amounts are minor units (cents) with the clinic's currency; no name, phone or text is read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, type_coerce

from bot.services import billing
from bot.storage.models import Appointment, Clinic, CreditEntry, Invoice, PatientPackage
from bot.storage.types import Money
from bot.storage.uow import UnitOfWork

Figures = dict[str, Any]


@dataclass(frozen=True)
class Subjects:
    """The ids an action touched (any may be None)."""

    patient_id: int | None = None
    package_id: int | None = None
    appointment_id: int | None = None
    invoice_id: int | None = None


def minor(amount: Decimal | None) -> int | None:
    """An amount in minor units (cents): ``Decimal("12.34")`` -> ``1234``."""
    return None if amount is None else int(amount * 100)


async def _package(uow: UnitOfWork, package_id: int) -> Figures:
    # Columns, not the row: the action's own rows (and what it loaded with them) stay as they are.
    p = PatientPackage
    found = (await uow.session.execute(
        select(p.price, p.refund_amount, p.uses, p.redeemed, p.booked, p.available,
               p.expires_on, p.patient_id).where(p.id == package_id)
    )).first()
    if found is None:
        return {}
    collected = await billing.package_collected(uow, package_id)
    return {
        "price": minor(found.price),
        "collected": minor(collected),
        "refunded": minor(found.refund_amount),
        "uses": found.uses,
        "redeemed": found.redeemed,
        "booked": found.booked,
        "available": found.available,
        "expires_on": found.expires_on.isoformat() if found.expires_on else None,
        "patient_id": found.patient_id,
    }


async def _invoice(uow: UnitOfWork, invoice_id: int) -> Figures:
    i = Invoice
    found = (await uow.session.execute(
        select(i.amount, i.paid, i.status, i.patient_id, i.package_id).where(i.id == invoice_id)
    )).first()
    if found is None:
        return {}
    return {
        "amount": minor(found.amount),
        "paid": minor(found.paid),
        "status": found.status,
        "patient_id": found.patient_id,
        "package_id": found.package_id,
    }


async def _appointment(uow: UnitOfWork, appointment_id: int) -> Figures:
    a = Appointment
    found = (await uow.session.execute(
        select(a.status, a.patient_id, a.starts_at, a.practitioner_id, a.package_id)
        .where(a.id == appointment_id)
    )).first()
    if found is None:
        return {}
    return {
        "status": found.status,
        "patient_id": found.patient_id,
        "starts_at": found.starts_at.isoformat(),
        "practitioner_id": found.practitioner_id,
        "package_id": found.package_id,
    }


async def _credit(uow: UnitOfWork, patient_id: int) -> int | None:
    held = await uow.session.scalar(
        select(type_coerce(func.coalesce(func.sum(CreditEntry.amount), 0), Money))
        .where(CreditEntry.patient_id == patient_id)
    )
    return minor(held or Decimal(0))


def patient_of(found: Figures) -> int | None:
    """The patient the figures are about: the first one an appointment, package or invoice names."""
    for value in found.values():
        if isinstance(value, dict) and value.get("patient_id") is not None:
            return int(value["patient_id"])
    return None


def packages_in(found: Figures) -> list[int]:
    """The ids of the packages whose figures ``found`` holds."""
    return [int(key.split()[1]) for key in found if key.startswith("package ")]


async def figures(
    uow: UnitOfWork, subjects: Subjects, also_packages: Sequence[int] = ()
) -> Figures:
    """The money and uses of what ``subjects`` names (and of ``also_packages``), as JSON values.

    An appointment or invoice brings in its package; the patient's credit is read for the
    patient named, or else the one the appointment, package or invoice belongs to.
    """
    await uow.session.flush()
    found: Figures = {}
    package_ids = [subjects.package_id] if subjects.package_id is not None else []
    if subjects.appointment_id is not None:
        found["appointment"] = await _appointment(uow, subjects.appointment_id)
        package_ids.append(found["appointment"].get("package_id"))
    if subjects.invoice_id is not None:
        found["invoice"] = await _invoice(uow, subjects.invoice_id)
        package_ids.append(found["invoice"].get("package_id"))
    for package_id in dict.fromkeys([*package_ids, *also_packages]):
        if package_id is not None:
            found[f"package {package_id}"] = await _package(uow, package_id)
    patient_id = subjects.patient_id if subjects.patient_id is not None else patient_of(found)
    if patient_id is not None:
        found["credit"] = await _credit(uow, patient_id)
    if found:
        found["currency"] = await uow.session.scalar(select(Clinic.currency).limit(1))
    return found
