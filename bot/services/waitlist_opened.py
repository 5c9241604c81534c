"""Times that open without a cancellation, offered to the waitlist (issue 19).

A closure or time off removed (at the desk, or by a reloaded set-up file), or working hours a
reloaded set-up file adds (``clinicbot load``), open times nobody could book before. Each such
time still free is offered as a freed one is (:func:`bot.services.waitlist_offers.offer_time`:
in waitlist order, one offer per patient, under the booking lock), in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, time, timedelta

from sqlalchemy import select

from bot.services import availability, waitlist_match, waitlist_offers
from bot.services.clinic import get_clinic, local_midnight_utc, local_today, zone
from bot.services.clinic_setup import clinic_setup
from bot.storage.models import WaitlistEntry
from bot.storage.uow import UnitOfWork

OPENED_ENTRIES = 200  # waiting entries looked at when closed time opens again
Block = tuple[int, int, time, time]  # location id, weekday (0 = Monday), local start, end
Opened = Callable[[datetime, datetime, int], bool]  # (start, end, location id): newly open?


async def times_opened(
    uow: UnitOfWork, start: datetime, end: datetime, *, practitioner_id: int | None = None,
    location_id: int | None = None, opened: Opened | None = None,
) -> int:
    """Closed time between ``start`` and ``end`` opened again (a closure or time off removed):
    offer its free times (those ``opened`` keeps, when given) to the waiting patients they
    suit, each time as
    :func:`~bot.services.waitlist_offers.offer_time` does; how many offers were made."""
    clinic = await get_clinic(uow)
    tz = zone(clinic)
    now = uow.clock.now()
    first = max(start, now).astimezone(tz).date()
    days = min((end.astimezone(tz).date() - first).days + 1, clinic.booking_horizon_days + 1)
    if days <= 0:
        return 0
    setup = await clinic_setup(uow)
    entries = await uow.session.scalars(select(WaitlistEntry).where(
        WaitlistEntry.status == "waiting").order_by(WaitlistEntry.id).limit(OPENED_ENTRIES))
    times: set[tuple[datetime, int, int]] = set()
    for entry in entries.all():
        length = timedelta(minutes=setup.fee(entry.fee_id).minutes)
        for practitioner, location in await availability.allowed_pairs(uow, entry.fee_id):
            if (entry.practitioner_id not in (None, practitioner.id)
                    or entry.location_id not in (None, location.id)
                    or practitioner_id not in (None, practitioner.id)
                    or location_id not in (None, location.id)):
                continue
            slots = await availability.offered_slots(
                uow, practitioner.id, location.id, entry.fee_id, first, days)
            times.update((slot, practitioner.id, location.id) for slot in slots
                         if start <= slot < end and waitlist_match.suits(entry, slot, tz)
                         and (opened is None or opened(slot, slot + length, location.id)))
    made = 0
    for slot, practitioner_id_, location_id_ in sorted(times):
        made += await waitlist_offers.offer_time(uow, practitioner_id_, location_id_, slot)
    return made


async def hours_added(uow: UnitOfWork, practitioner_id: int, before: Iterable[Block]) -> int:
    """The practitioner's weekly hours changed (a reloaded set-up file): offer the free times
    of the booking horizon that their hours ``before`` did not hold; how many offers were made.
    """
    clinic = await get_clinic(uow)
    tz, old = zone(clinic), set(before)

    def opened(start: datetime, end: datetime, location_id: int) -> bool:
        begins, ends = start.astimezone(tz), end.astimezone(tz)
        return not any(
            place == location_id and day == begins.weekday() and since <= begins.time()
            and begins.date() == ends.date() and ends.time() <= until
            for place, day, since, until in old)

    last = local_today(clinic, uow.clock.now()) + timedelta(days=clinic.booking_horizon_days + 1)
    return await times_opened(uow, uow.clock.now(), local_midnight_utc(clinic, last),
                              practitioner_id=practitioner_id, opened=opened)
