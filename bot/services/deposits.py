"""Deposits: what a patient pays to book without a package (issue 20; optional per clinic).

A clinic that sets ``[booking] deposit`` asks it of every appointment a patient books without a
package (:func:`ask`, called by :func:`bot.services.appointments.book` for ``booked_by="patient"``;
staff bookings and package bookings never ask one). The deposit is at most the fee's price, and
nothing is asked for a free fee. It is one ``deposit`` invoice per appointment, opened under the
appointment's row lock and backed by a partial unique index, so two requests at once open one.

What becomes of the money follows the appointment:

* **Arrival** (:func:`apply_to_visit`): what was paid on the deposit pays the visit's session
  invoice (a payment of method ``deposit``, no new money); an unpaid rest of the deposit is not
  owed any more. Anything beyond the session's price (the fee got cheaper) becomes credit.
  Undoing the arrival takes that payment back (:func:`take_back`).
* **Cancellation** (:func:`on_cancel`): an unpaid deposit is voided. What was paid becomes the
  patient's credit (source ``refund``) when the cancellation comes before the clinic's
  ``cancel_notice_hours`` (RULES.md 7: the patient could have cancelled it themselves); a later
  cancellation (only staff can make one) leaves it with the clinic, as a no-show does: that is
  what a deposit is for.
* **Never paid**: the time is held ``deposit_hold_minutes`` from the booking, then released by
  the sweep in :mod:`bot.services.deposit_release`, and the patient is told.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import cast

from sqlalchemy import bindparam, literal_column, select

from bot.services import billing, credit, packages
from bot.services.clinic import get_clinic, local_today
from bot.storage.attach import Columns, loaded
from bot.storage.hot import Hot
from bot.storage.models import Appointment, Clinic, Fee, Invoice, Payment
from bot.storage.uow import UnitOfWork

DEPOSIT = "deposit"  # the invoice kind
METHOD = "deposit"  # a session invoice paid from the visit's deposit


def amount_for(clinic: Clinic, price: Decimal) -> Decimal | None:
    """The deposit asked to book a fee of ``price`` without a package (None: none is asked)."""
    if clinic.deposit is None or clinic.deposit <= billing.ZERO or price <= billing.ZERO:
        return None
    return min(clinic.deposit, price)


# Built once and run on the driver: every booking without a package asks it twice. The kind is
# written into the SQL, not bound: only then can a plan PostgreSQL keeps for any parameters use
# the partial index of deposits (uq_invoice_deposit_appointment), not a scan of every invoice.
_INVOICE_COLUMNS = Columns(Invoice)
_DEPOSIT = Hot(select(*_INVOICE_COLUMNS.columns).where(
    Invoice.appointment_id == bindparam("appointment"),
    Invoice.kind == literal_column(f"'{DEPOSIT}'")))


async def deposit_of(uow: UnitOfWork, appointment_id: int) -> Invoice | None:
    """The appointment's deposit invoice, if it has one."""
    found = await loaded(uow, _DEPOSIT, _INVOICE_COLUMNS, {"appointment": appointment_id})
    return cast(Invoice, found[0]) if found else None


async def ask(uow: UnitOfWork, appointment: Appointment) -> Invoice | None:
    """Open the appointment's deposit invoice once (an existing one is returned as it is).

    None when no deposit is asked: the clinic sets none, the fee is free, a package covers the
    appointment, or it is not booked any more.
    """
    appointment = await packages.lock_appointment(uow, appointment.id)
    if appointment.package_id is not None or appointment.status != "booked":
        return None
    existing = await deposit_of(uow, appointment.id)
    if existing is not None:
        return existing
    clinic = await get_clinic(uow)
    fee = await uow.session.get(Fee, appointment.fee_id)
    assert fee is not None  # a foreign key
    amount = amount_for(clinic, fee.price)
    if amount is None:
        return None
    return await billing.create_invoice(
        uow, patient_id=appointment.patient_id, kind=DEPOSIT, description=fee.name,
        amount=amount, issued_on=local_today(clinic, uow.clock.now()),
        appointment_id=appointment.id,
    )


def held_until(clinic: Clinic, invoice: Invoice) -> datetime:
    """When an unpaid deposit releases its time (see :mod:`bot.services.deposit_release`)."""
    return invoice.created_at + timedelta(minutes=clinic.deposit_hold_minutes)


async def apply_to_visit(
    uow: UnitOfWork, appointment: Appointment, session: Invoice | None
) -> None:
    """At arrival: the paid deposit pays the session invoice; the rest becomes credit."""
    deposit = await deposit_of(uow, appointment.id)
    if deposit is None:
        return
    deposit = await billing.lock_invoice(uow, deposit.id)
    billing.settle_invoice(deposit)  # an unpaid rest is not owed once the visit is billed
    if deposit.paid <= billing.ZERO:
        return
    applied = billing.ZERO
    if session is not None and session.outstanding > billing.ZERO:
        applied = min(deposit.paid, session.outstanding)
        await billing.record_payment(uow, session.id, applied, method=METHOD)
    rest = deposit.paid - applied
    if rest > billing.ZERO:
        credit.add(uow, patient_id=deposit.patient_id, amount=rest, source=credit.REFUND,
                   reason=f"deposit invoice {deposit.id} beyond the visit's price",
                   invoice_id=deposit.id)
        await uow.session.flush()


async def take_back(uow: UnitOfWork, session: Invoice) -> None:
    """Undo :func:`apply_to_visit`'s payment on ``session`` (an arrival being undone)."""
    rows = await uow.session.scalars(
        select(Payment).where(Payment.invoice_id == session.id, Payment.method == METHOD)
    )
    for payment in rows.all():
        session.paid = session.paid - payment.amount
        await uow.session.delete(payment)
    if session.paid < session.amount and session.status == "paid":
        session.status = "open"
    await uow.session.flush()


async def on_cancel(uow: UnitOfWork, appointment: Appointment, *, in_time: bool) -> None:
    """The appointment is cancelled: void an unpaid deposit; what was paid becomes credit when
    ``in_time`` (before the clinic's notice window), else the clinic keeps it."""
    deposit = await deposit_of(uow, appointment.id)
    if deposit is None:
        return
    deposit = await billing.lock_invoice(uow, deposit.id)
    billing.settle_invoice(deposit)
    if in_time and deposit.paid > billing.ZERO:
        credit.add(uow, patient_id=deposit.patient_id, amount=deposit.paid,
                   source=credit.REFUND,
                   reason=f"deposit invoice {deposit.id}: appointment {appointment.id} cancelled "
                          "in time", invoice_id=deposit.id)
    await uow.session.flush()
