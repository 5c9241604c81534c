"""Releasing times held by deposits never paid (issue 20; bot/services/deposits.py).

Decision: an unpaid deposit holds its time for the clinic's ``deposit_hold_minutes`` from the
booking; then :func:`release_unpaid` cancels the appointment (as the clinic: the deposit is
voided, the time goes to the waitlist like any freed time) and tells the patient once (outbox
``deposit:{invoice}:released``). A deposit partly paid, or an appointment that has begun, is
left to the desk (it shows among the unpaid invoices). Each release locks the appointment and
re-reads it, so a sweep run twice, or on two instances, releases and tells once.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.services import appointments, billing, deposits, outbox, packages
from bot.services.clinic import get_clinic
from bot.services.recipients import recipient_for
from bot.storage.models import Appointment, Invoice
from bot.storage.uow import UnitOfWork

DEPOSIT_RELEASED = "deposit_released"
CHUNK = 200


async def release_unpaid(uow: UnitOfWork) -> int:
    """Release the appointments whose deposit is still unpaid after the hold; how many."""
    clinic = await get_clinic(uow)
    if clinic.deposit is None:
        return 0
    now = uow.clock.now()
    held_since = now - timedelta(minutes=clinic.deposit_hold_minutes)
    due = (await uow.session.execute(
        select(Invoice.id, Invoice.appointment_id)
        .join(Appointment, Appointment.id == Invoice.appointment_id)
        .where(Invoice.kind == deposits.DEPOSIT, Invoice.status == "open",
               Invoice.paid == billing.ZERO, Invoice.created_at <= held_since,
               Appointment.status == "booked", Appointment.starts_at > now)
        .order_by(Invoice.id)
        .limit(CHUNK)
    )).tuples().all()
    released = 0
    for invoice_id, appointment_id in due:
        assert appointment_id is not None
        appointment = await packages.lock_appointment(uow, appointment_id)
        invoice = await billing.lock_invoice(uow, invoice_id)
        if appointment.status != "booked" or invoice.status != "open" or invoice.paid > 0:
            continue  # paid, cancelled or released meanwhile
        await appointments.cancel(uow, appointment.id, by="staff")
        recipient = await recipient_for(uow, appointment.patient_id)
        if recipient is not None:
            await outbox.enqueue(
                uow, purpose=f"deposit:{invoice_id}:released", kind=DEPOSIT_RELEASED,
                params={"appointment_id": appointment.id, "invoice_id": invoice_id},
                patient_id=appointment.patient_id,
            )
        released += 1
    return released
