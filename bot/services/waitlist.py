"""Joining and leaving the waitlist, and reading it (issue 19; offers: waitlist_offers.py).

A patient (or the guardian who manages them, RULES.md 17) asks to be told when a time of a
fee opens: with a practitioner and location or any, on some weekdays and parts of day or any,
until a day (default: the expiry of the package they will use, else 14 days from today). The
list is first come, first served: entries are offered times in ``id`` order.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select

from bot.services import appointments, audit, packages, waitlist_offers
from bot.services.accounts import require_may_act
from bot.services.clinic import get_clinic, local_midnight_utc, local_today
from bot.services.clinic_setup import clinic_setup
from bot.services.errors import InvalidInput, NotAllowed, NotFound, WrongState
from bot.storage.models import Patient, WaitlistEntry, WaitlistOffer
from bot.storage.uow import UnitOfWork

PARTS = ("morning", "afternoon", "evening")
DEFAULT_DAYS = 14
MAX_DAYS = 366
LOCK_TRIES = 5


@dataclass(frozen=True)
class Wish:
    """What a waiting patient asks for (None: any practitioner / location; empty: any day)."""

    fee_id: int
    practitioner_id: int | None = None
    location_id: int | None = None
    weekdays: tuple[int, ...] = ()
    parts: tuple[str, ...] = ()
    until: date | None = None
    package_id: int | None = None


async def join(
    uow: UnitOfWork, patient_id: int, wish: Wish, *, acting_patient_id: int | None = None,
    actor: audit.Actor | None = None,
) -> WaitlistEntry:
    """Put the patient on the waitlist (an identical waiting entry is returned as it is)."""
    if acting_patient_id is not None:
        await require_may_act(uow, acting_patient_id, patient_id)
    patient = await uow.session.get(Patient, patient_id)
    if patient is None or patient.merged_into_id is not None:
        raise NotFound(f"there is no patient {patient_id}")
    setup = await clinic_setup(uow)
    fee = setup.fee(wish.fee_id)
    if wish.practitioner_id is not None and wish.practitioner_id not in fee.practitioner_ids:
        raise InvalidInput(f"that practitioner does not offer {fee.name}")
    if wish.location_id is not None:
        setup.location(wish.location_id)  # NotFound if there is none
    if any(day not in range(7) for day in wish.weekdays):
        raise InvalidInput("weekdays are 0 (Monday) to 6 (Sunday)")
    if any(part not in PARTS for part in wish.parts):
        raise InvalidInput("parts of the day are morning, afternoon or evening")
    today = local_today(await get_clinic(uow), uow.clock.now())
    until = wish.until
    if wish.package_id is not None:
        package = await packages.get_package(uow, wish.package_id)
        if package.patient_id != patient_id:
            raise NotAllowed("a package covers only its owner's appointments")
        until = until or package.expires_on
    until = until or today + timedelta(days=DEFAULT_DAYS)
    if until < today or until > today + timedelta(days=MAX_DAYS):
        raise InvalidInput(f"wait until a day from today to {MAX_DAYS} days ahead")
    values = {
        "patient_id": patient_id, "fee_id": fee.id, "practitioner_id": wish.practitioner_id,
        "location_id": wish.location_id, "weekdays": sorted(set(wish.weekdays)),
        "parts": [p for p in PARTS if p in wish.parts], "until": until,
        "package_id": wish.package_id,
    }
    for same in await entries_for(uow, [patient_id]):
        if all(getattr(same, name) == value for name, value in values.items()):
            return same
    seen = await audit.watch(uow, actor, patient_id=patient_id)
    entry = WaitlistEntry(**values, status="waiting", created_at=uow.clock.now())
    uow.session.add(entry)
    await uow.session.flush()
    await seen.record("waitlist.join", summary=f"waitlist entry {entry.id} added")
    return entry


async def leave(
    uow: UnitOfWork, entry_id: int, *, acting_patient_id: int | None = None,
    actor: audit.Actor | None = None,
) -> WaitlistEntry:
    """Take an entry off the list (the patient leaves, or the desk removes it); its open
    offers are withdrawn and their times offered to the next patients.

    Locks in the order offering takes them (:func:`bot.services.waitlist_offers.offer_time`:
    the practitioner's booking lock, then the entry's row, then the offer is created), so the
    two never wait for each other in a cycle: see :func:`_lock_entry`."""
    entry = await _lock_entry(uow, entry_id)
    if acting_patient_id is not None:
        await require_may_act(uow, acting_patient_id, entry.patient_id)
    if entry.status != "waiting":
        raise WrongState(f"waitlist entry {entry_id} is {entry.status}, no longer waiting")
    seen = await audit.watch(uow, actor, patient_id=entry.patient_id)
    entry.status = "left" if acting_patient_id is not None else "removed"
    entry.ended_at = uow.clock.now()
    await uow.session.flush()
    await waitlist_offers.withdraw_for(uow, entry.id)
    await seen.record("waitlist.leave", summary=f"waitlist entry {entry.id} {entry.status}")
    return entry


async def _lock_entry(uow: UnitOfWork, entry_id: int) -> WaitlistEntry:
    """The entry, its row locked after the booking locks of the practitioners its open offers
    hold (in id order). An offer made before the entry's lock was taken may hold a practitioner
    not yet locked: then the locks are let go (a savepoint rolled back) and taken again, all
    in order, so this never holds the entry while waiting for a practitioner."""
    holding = select(WaitlistOffer.practitioner_id).where(
        WaitlistOffer.entry_id == entry_id, WaitlistOffer.status == "open")
    locked = set((await uow.session.scalars(holding)).all())
    for _ in range(LOCK_TRIES):
        async with uow.session.begin_nested() as attempt:
            for practitioner_id in sorted(locked):
                await appointments.lock_practitioner(uow, practitioner_id)
            entry = await uow.session.scalar(
                select(WaitlistEntry).where(WaitlistEntry.id == entry_id).with_for_update()
                .execution_options(populate_existing=True))
            if entry is None:
                raise NotFound(f"there is no waitlist entry {entry_id}")
            held = set((await uow.session.scalars(holding)).all())
            if held <= locked:
                return entry
            locked |= held
            await attempt.rollback()
    raise WrongState(f"waitlist entry {entry_id} keeps changing; try again")


async def entries_for(uow: UnitOfWork, patient_ids: Iterable[int]) -> list[WaitlistEntry]:
    """The waiting entries of these patients, in waitlist order."""
    rows = await uow.session.scalars(
        select(WaitlistEntry).where(
            WaitlistEntry.patient_id.in_(list(patient_ids)), WaitlistEntry.status == "waiting",
        ).order_by(WaitlistEntry.id))
    return list(rows)


async def waiting(uow: UnitOfWork, *, limit: int = 500) -> list[WaitlistEntry]:
    """Every waiting entry, in waitlist order (the desk's list)."""
    rows = await uow.session.scalars(
        select(WaitlistEntry).where(WaitlistEntry.status == "waiting")
        .order_by(WaitlistEntry.id).limit(limit))
    return list(rows)


async def open_offers(uow: UnitOfWork, *, limit: int = 500) -> list[WaitlistOffer]:
    """The offers out now, soonest hold end first."""
    rows = await uow.session.scalars(
        select(WaitlistOffer).where(WaitlistOffer.status == "open")
        .order_by(WaitlistOffer.expires_at, WaitlistOffer.id).limit(limit))
    return list(rows)


async def refilled(uow: UnitOfWork, start: date, end: date) -> int:
    """How many freed times the waitlist refilled: offers accepted for times on ``start`` to
    ``end`` (clinic days)."""
    clinic = await get_clinic(uow)
    found = await uow.session.scalar(
        select(func.count()).select_from(WaitlistOffer).where(
            WaitlistOffer.status == "accepted",
            WaitlistOffer.starts_at >= local_midnight_utc(clinic, start),
            WaitlistOffer.starts_at < local_midnight_utc(clinic, end + timedelta(days=1))))
    return int(found or 0)
