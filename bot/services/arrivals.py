"""Marking an appointment arrived, and undoing that (RULES.md 3).

:func:`arrive` redeems the appointment's package use (billing ``patient_pays``), or bills the
fee when no package covers it (a paid deposit pays that bill, bot/services/deposits.py). It is
refused before the appointment can have begun: from
:data:`EARLY_MINUTES` before its start (patients come a little early), not days ahead, since
an arrival redeems a use.

:func:`undo_arrival` restores exactly what was there before, like the no-show undo
(bot/services/noshows.py): the use goes back from redeemed to booked on the same package, the
session invoice is voided (refused if anything was paid on it) and the appointment is
``booked`` again. Both lock the appointment's row first and re-read it, so an arrival and its
undo, or two undos, pressed at once on two servers happen one after the other: the second is
refused with what the first did, and nothing is counted twice.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.services import audit, billing, deposits, packages
from bot.services.clinic import get_clinic, zone
from bot.services.errors import WrongState
from bot.storage.models import Appointment, Fee, Invoice
from bot.storage.uow import UnitOfWork

EARLY_MINUTES = 15


async def arrive(
    uow: UnitOfWork, appointment_id: int, *, actor: audit.Actor | None = None
) -> Appointment:
    """Mark arrived: a package use is redeemed (billing ``patient_pays``), else the fee billed.

    Only a booked appointment, and only from :data:`EARLY_MINUTES` before it starts.
    """
    clinic = await get_clinic(uow)
    appointment = await packages.lock_appointment(uow, appointment_id)
    seen = await audit.watch(uow, actor, appointment_id=appointment_id)
    if appointment.status != "booked":
        raise WrongState(
            f"appointment {appointment.id} is {appointment.status.replace('_', '-')}; it cannot "
            "be marked arrived"
        )
    opens = appointment.starts_at - timedelta(minutes=EARLY_MINUTES)
    if uow.clock.now() < opens:
        raise WrongState(
            f"appointment {appointment.id} starts {{starts}}; it can be marked arrived from "
            f"{{opens}} ({EARLY_MINUTES} minutes before it starts)",
            zone=zone(clinic), starts=appointment.starts_at, opens=opens,
        )
    if appointment.package_id is not None:
        await packages.redeem_use(uow, appointment, kind="arrival")
    else:
        fee = await uow.session.get(Fee, appointment.fee_id)
        assert fee is not None  # a foreign key
        session = None
        if fee.price > 0:
            session = await billing.create_invoice(
                uow, patient_id=appointment.patient_id, kind="session", description=fee.name,
                amount=fee.price, issued_on=appointment.starts_at.astimezone(zone(clinic)).date(),
                appointment_id=appointment.id,
            )
        await deposits.apply_to_visit(uow, appointment, session)  # a paid deposit pays it
    appointment.status = "arrived"
    appointment.arrived_at = uow.clock.now()
    await uow.session.flush()
    await seen.record("appointment.arrive", summary=f"appointment {appointment_id} arrived")
    return appointment


async def undo_arrival(
    uow: UnitOfWork, appointment_id: int, *, actor: audit.Actor | None = None
) -> list[Invoice]:
    """Undo :func:`arrive`: the appointment is booked again with its use reserved on the same
    package, and its session invoice voided. Returns the invoices voided.

    Refused, changing nothing, when the appointment is not arrived, when something was paid on
    the session invoice (refund it first), or when the package was refunded since.
    """
    appointment = await packages.lock_appointment(uow, appointment_id)
    seen = await audit.watch(uow, actor, appointment_id=appointment_id)
    if appointment.status != "arrived":
        raise WrongState(
            f"appointment {appointment.id} is {appointment.status.replace('_', '-')}; there is "
            "no arrival to undo"
        )
    voided = await _session_invoices(uow, appointment.id)
    if appointment.package_id is not None:
        await packages.restore_use(uow, appointment, "this arrival")  # voids its session invoice
    else:
        for invoice in voided:
            invoice = await billing.lock_invoice(uow, invoice.id)
            await deposits.take_back(uow, invoice)  # the deposit's share is not a payment
            await billing.void_invoice(uow, invoice)
    appointment.status = "booked"
    appointment.arrived_at = None
    await uow.session.flush()
    await seen.record(
        "appointment.undo_arrival", summary=f"arrival at appointment {appointment_id} undone",
    )
    return voided


async def _session_invoices(uow: UnitOfWork, appointment_id: int) -> list[Invoice]:
    """The appointment's session invoices not voided (what its arrival billed)."""
    rows = await uow.session.scalars(
        select(Invoice)
        .where(
            Invoice.appointment_id == appointment_id,
            Invoice.kind == "session",
            Invoice.status != "void",
        )
        .order_by(Invoice.id)
    )
    return list(rows)
