"""Which waiting entries a time suits, and whether an offer still matters when it is sent
(issue 19; the offers themselves: :mod:`bot.services.waitlist_offers`).

A time suits an entry on its weekdays and parts of the day (morning before noon, afternoon until
17:00, evening after, in the clinic's time) up to its last day; a patient already booked at
that time is never offered it. At send time an offer no longer matters once closed, past its
hold, inside the booking notice, or when the time or the patient was booked meanwhile.
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo

from sqlalchemy import select

from bot.services.availability import busy_intervals
from bot.services.clinic import get_clinic
from bot.services.clinic_setup import clinic_setup
from bot.storage.models import Appointment, WaitlistEntry, WaitlistOffer
from bot.storage.uow import UnitOfWork

NOON_HOUR, EVENING_HOUR = 12, 17


def part_of_day(moment: datetime, clinic_zone: tzinfo) -> str:
    """morning (before noon) | afternoon (until 17:00) | evening, in the clinic's time."""
    local = moment.astimezone(clinic_zone).time()
    if local.hour < NOON_HOUR:
        return "morning"
    return "afternoon" if local.hour < EVENING_HOUR else "evening"


def suits(entry: WaitlistEntry, moment: datetime, clinic_zone: tzinfo) -> bool:
    """Whether a time at ``moment`` falls on the entry's days and parts of day and in time."""
    local = moment.astimezone(clinic_zone)
    if local.date() > entry.until:
        return False
    if entry.weekdays and local.weekday() not in entry.weekdays:
        return False
    return not entry.parts or part_of_day(moment, clinic_zone) in entry.parts


async def booked_over(
    uow: UnitOfWork, patient_id: int, starts_at: datetime, ends_at: datetime
) -> bool:
    """Whether the patient already has a booked appointment overlapping the time."""
    found = await uow.session.scalar(select(Appointment.id).where(
        Appointment.patient_id == patient_id, Appointment.status == "booked",
        Appointment.starts_at < ends_at, Appointment.ends_at > starts_at).limit(1))
    return found is not None


async def why_not_send(uow: UnitOfWork, params: dict[str, object]) -> str | None:
    """At send time: why an offer no longer matters (see the module docstring), or None."""
    value = params.get("offer_id")
    offer = (await uow.session.get(WaitlistOffer, int(value))
             if isinstance(value, int) else None)
    if offer is None or offer.status != "open":
        return "the offer is closed"
    now = uow.clock.now()
    if offer.expires_at <= now:
        return "the offer's hold ran out"
    notice = (await get_clinic(uow)).min_notice_minutes
    if offer.starts_at < now + timedelta(minutes=notice):
        return "the offered time is inside the booking notice"
    entry = await uow.session.get(WaitlistEntry, offer.entry_id)
    if entry is not None:
        length = timedelta(minutes=(await clinic_setup(uow)).fee(entry.fee_id).minutes)
        if await booked_over(uow, entry.patient_id, offer.starts_at, offer.starts_at + length):
            return "the patient has booked that time meanwhile"
    taken = await busy_intervals(
        uow, offer.practitioner_id, offer.starts_at, offer.starts_at + timedelta(minutes=1))
    return "the offered time was booked meanwhile" if taken else None
