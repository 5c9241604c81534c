"""What stops a patient's erasure (issue 21): anything still booked, owed or credited.

Erasure keeps the money and the dated facts but removes who they were; it is refused while
the clinic and the patient still have business together: appointments to come (or past ones
not yet marked arrived or no-show), open invoices, credit held, a running membership, an open
waitlist offer, a series with sessions to come, or a ward with any of those whom only this
patient manages. :func:`blockers` lists each, with what would settle it.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, or_, select

from bot.services.clinic import get_clinic, local_today, zone
from bot.services.wall import wall_text
from bot.storage.models import (
    Appointment,
    CreditEntry,
    Invoice,
    Membership,
    WaitlistEntry,
    WaitlistOffer,
    guardianship,
)
from bot.storage.uow import UnitOfWork


async def blockers(uow: UnitOfWork, patient_id: int) -> list[str]:
    """Why ``patient_id`` cannot be erased yet (each with what settles it); empty: it can.

    A ward whom only this patient manages counts too: erasing the guardian would leave the
    ward's bookings and bills with nobody to reach."""
    found = await _own(uow, patient_id)
    wards = (await uow.session.scalars(
        select(guardianship.c.ward_id).where(guardianship.c.guardian_id == patient_id)
        .order_by(guardianship.c.ward_id))).all()
    for ward_id in wards:
        others = await uow.session.scalar(
            select(func.count()).select_from(guardianship).where(
                guardianship.c.ward_id == ward_id, guardianship.c.guardian_id != patient_id))
        if others:
            continue
        found += [f"ward patient {ward_id} (managed by this patient alone): {line}"
                  for line in await _own(uow, ward_id)]
    return found


async def _own(uow: UnitOfWork, patient_id: int) -> list[str]:
    clinic = await get_clinic(uow)
    tz, now = zone(clinic), uow.clock.now()
    today = local_today(clinic, now)
    found: list[str] = []
    booked = (await uow.session.scalars(
        select(Appointment).where(Appointment.patient_id == patient_id,
                                  Appointment.status == "booked")
        .order_by(Appointment.starts_at, Appointment.id))).all()
    series = sorted({a.series_id for a in booked if a.series_id is not None and a.starts_at > now})
    for appointment in booked:
        when = wall_text(appointment.starts_at, tz)
        if appointment.starts_at > now:
            found.append(f"appointment {appointment.id} on {when} is booked: cancel it first")
        else:
            found.append(f"appointment {appointment.id} on {when} is not marked arrived or "
                         "no-show: mark it first")
    found += [f"series {ident} has sessions to come: cancel the rest of the series first"
              for ident in series]
    invoices = (await uow.session.scalars(
        select(Invoice).where(Invoice.patient_id == patient_id, Invoice.status == "open",
                              Invoice.amount > Invoice.paid)
        .order_by(Invoice.due_on, Invoice.id))).all()
    found += [f"invoice {invoice.id} ({invoice.description}) owes "
              f"{invoice.outstanding:.2f} {clinic.currency}: record the payment first"
              for invoice in invoices]
    credit = await uow.session.scalar(
        select(func.coalesce(func.sum(CreditEntry.amount), 0))
        .where(CreditEntry.patient_id == patient_id))
    if Decimal(str(credit or 0)) != 0:
        found.append(f"credit of {Decimal(str(credit)):.2f} {clinic.currency} is held: pay it "
                     "back first (clinicbot staff pay-back)")
    running = (await uow.session.scalars(
        select(Membership.id).where(
            Membership.patient_id == patient_id,
            or_(Membership.cancelled_from.is_(None), Membership.cancelled_from > today))
        .order_by(Membership.id))).all()
    found += [f"membership {ident} is still running: cancel it first" for ident in running]
    offers = (await uow.session.scalars(
        select(WaitlistOffer.id).join(WaitlistEntry, WaitlistEntry.id == WaitlistOffer.entry_id)
        .where(WaitlistEntry.patient_id == patient_id, WaitlistOffer.status == "open",
               WaitlistOffer.expires_at > now)
        .order_by(WaitlistOffer.id))).all()
    found += [f"waitlist offer {ident} is waiting for an answer: withdraw the patient from the "
              "waitlist first" for ident in offers]
    return found
