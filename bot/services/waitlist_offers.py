"""Offering freed times to the waitlist, and answering the offers (issue 19).

:func:`slot_freed` is the one hook: :func:`bot.services.appointments.cancel` and
:func:`~bot.services.appointments.reschedule` call it in their own transaction for the time
they free, whoever asks (a patient on any channel, the desk, the CLI). It offers that time to
the first matching waiting patients in waitlist order (``clinic.waitlist_batch`` at once; a
patient holds one offer at a time), each offer held ``clinic.waitlist_hold_minutes`` (counted
from the end of quiet hours when the time frees up inside them) and queued in the outbox under
``waitlist:offer:{id}``, so it is sent once, to the patient or their guardian, never to someone
who opted out.

Never to the patient who freed the time (``freed_by``: it is marked ``skipped`` for their
entries, so no later pass offers it back), nor to one already booked at that time, nor when the
time would be inside the clinic's booking notice by the time the offer can be sent (after quiet
hours); a hold never runs past that notice either.

Offering a time takes the booking lock on the practitioner, then each entry's row before its
offer is created (the order :func:`bot.services.waitlist.leave` keeps), and re-checks the time
is still bookable by a patient, so a time already taken is never offered. :func:`accept` books under
that same lock with the entry's package (or the one pre-selected as usual); the first to accept
gets it, anyone later is told it has gone (:class:`OfferGone`; :class:`TooSoon` when the time
is now inside the booking notice) and stays on the list.
:func:`expire_offers` (a scheduler sweep) closes the offers whose hold ran out and offers their
time to the next patients; run twice or on two instances, it offers nothing twice (the rows are
locked, each entry is offered a time at most once: a unique key)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import func, select, update

from bot.services import appointments
from bot.services.accounts import require_may_act
from bot.services.clinic import end_of_quiet_hours, get_clinic, zone
from bot.services.clinic_setup import clinic_setup
from bot.services.errors import DomainError, NotAllowed, NotFound, PackageNotUsable, WrongState
from bot.services.recipients import Wanted, enqueue_for_patients, recipient_for
from bot.services.waitlist_match import booked_over, suits
from bot.storage.models import Appointment, WaitlistEntry, WaitlistOffer
from bot.storage.uow import UnitOfWork
from bot.storage.upsert import insert_ignore

OFFER = "waitlist_offer"  # the outbox kind


class OfferGone(WrongState):
    """The offered time was taken by someone else, expired or is no longer free."""


class TooSoon(OfferGone):
    """The offered time is now inside the clinic's booking notice: it cannot be booked online."""

    code = "too_soon"


async def slot_freed(
    uow: UnitOfWork, practitioner_id: int, location_id: int, starts_at: datetime,
    freed_by: int | None = None,
) -> int:
    """A time was freed (by ``freed_by``'s cancellation or move, never offered back to them):
    offer it to the waitlist (see the module docstring); offers made."""
    return await offer_time(uow, practitioner_id, location_id, starts_at, freed_by=freed_by)


async def offer_time(
    uow: UnitOfWork, practitioner_id: int, location_id: int, starts_at: datetime, *,
    freed_by: int | None = None,
) -> int:
    """Offer the time to the next matching waiting patients up to the batch; offers made."""
    await appointments.lock_practitioner(uow, practitioner_id)
    clinic = await get_clinic(uow)
    now = uow.clock.now()
    if starts_at <= now:
        return 0
    if freed_by is not None:
        await _pass_over(uow, freed_by, practitioner_id, location_id, starts_at)
    sendable = end_of_quiet_hours(clinic, now)
    last_call = starts_at - timedelta(minutes=clinic.min_notice_minutes)
    if last_call <= sendable:  # inside the booking notice before it could be answered
        return 0
    expires_at = min(sendable + timedelta(minutes=clinic.waitlist_hold_minutes), last_call)
    still_open = await uow.session.scalar(
        select(func.count()).select_from(WaitlistOffer).where(
            WaitlistOffer.practitioner_id == practitioner_id,
            WaitlistOffer.starts_at == starts_at,
            WaitlistOffer.status == "open",
        ))
    room = clinic.waitlist_batch - int(still_open or 0)
    if room <= 0:
        return 0
    offered_before = select(WaitlistOffer.entry_id).where(  # this time, or one held for them
        ((WaitlistOffer.practitioner_id == practitioner_id)
         & (WaitlistOffer.starts_at == starts_at)) | (WaitlistOffer.status == "open"))
    candidates = await uow.session.scalars(
        select(WaitlistEntry).where(
            WaitlistEntry.status == "waiting",
            (WaitlistEntry.practitioner_id.is_(None))
            | (WaitlistEntry.practitioner_id == practitioner_id),
            (WaitlistEntry.location_id.is_(None)) | (WaitlistEntry.location_id == location_id),
            WaitlistEntry.id.not_in(offered_before),
        ).order_by(WaitlistEntry.id))
    tz, setup = zone(clinic), await clinic_setup(uow)
    made = 0
    for entry in candidates.all():
        if made >= room:
            break
        ends_at = starts_at + timedelta(minutes=setup.fee(entry.fee_id).minutes)
        if (not suits(entry, starts_at, tz)
                or await recipient_for(uow, entry.patient_id) is None
                or await booked_over(uow, entry.patient_id, starts_at, ends_at)):
            continue
        if not await _still_free_to_offer(uow, entry.id):  # left or offered meanwhile
            continue
        try:
            await appointments.check_bookable(
                uow, practitioner_id=practitioner_id, location_id=location_id,
                fee_id=entry.fee_id, starts_at=starts_at)
        except DomainError:
            continue
        offer = WaitlistOffer(
            entry_id=entry.id, practitioner_id=practitioner_id, location_id=location_id,
            starts_at=starts_at, expires_at=expires_at, status="open", created_at=now)
        uow.session.add(offer)
        await uow.session.flush()
        await enqueue_for_patients(uow, [Wanted(
            f"waitlist:offer:{offer.id}", OFFER, entry.patient_id,
            {"offer_id": offer.id, "starts_at": starts_at.isoformat()})], look_first=False)
        made += 1
    return made


async def _pass_over(
    uow: UnitOfWork, patient_id: int, practitioner_id: int, location_id: int,
    starts_at: datetime,
) -> None:
    """The patient freed this time: mark it passed over for their waiting entries (status
    ``skipped``, never sent), so it is never offered back to them."""
    entries = await uow.session.scalars(select(WaitlistEntry.id).where(
        WaitlistEntry.patient_id == patient_id, WaitlistEntry.status == "waiting"))
    now = uow.clock.now()
    for entry_id in entries.all():
        await insert_ignore(uow, WaitlistOffer, {
            "entry_id": entry_id, "practitioner_id": practitioner_id,
            "location_id": location_id, "starts_at": starts_at, "expires_at": now,
            "status": "skipped", "created_at": now, "answered_at": now,
        }, ("entry_id", "practitioner_id", "starts_at"))


async def _still_free_to_offer(uow: UnitOfWork, entry_id: int) -> bool:
    """Lock the entry (before its offer is created, after the practitioner's booking lock, the
    order :func:`bot.services.waitlist.leave` keeps) and read it afresh: still waiting, and
    holding no open offer? An entry another transaction holds locked (PostgreSQL: ``SKIP
    LOCKED``) is being removed, booked or offered a time right now: passed over, so offering
    never waits on an entry while holding a practitioner."""
    status = await uow.session.scalar(
        select(WaitlistEntry.status).where(WaitlistEntry.id == entry_id)
        .with_for_update(skip_locked=True))
    held = await uow.session.scalar(select(WaitlistOffer.id).where(
        WaitlistOffer.entry_id == entry_id, WaitlistOffer.status == "open").limit(1))
    return status == "waiting" and held is None


async def get_offer(uow: UnitOfWork, offer_id: int, *, lock: bool = False) -> WaitlistOffer:
    """An offer by id (``lock``: its row held until the transaction ends)."""
    stmt = select(WaitlistOffer).where(WaitlistOffer.id == offer_id).execution_options(
        populate_existing=True)
    if lock:
        stmt = stmt.with_for_update()
    offer = await uow.session.scalar(stmt)
    if offer is None:
        raise NotFound(f"there is no waitlist offer {offer_id}")
    return offer


async def accept(
    uow: UnitOfWork, offer_id: int, *, acting_patient_id: int | None = None
) -> Appointment:
    """Book the offered time for the entry's patient with their package; the caller commits.

    Under the booking lock: an offer no longer open, past its hold, or whose time is no longer
    free raises :class:`OfferGone` (the offer is marked gone, the entry keeps waiting).
    """
    first = await get_offer(uow, offer_id)
    await appointments.lock_practitioner(uow, first.practitioner_id)
    offer = await get_offer(uow, offer_id, lock=True)
    entry = await uow.session.get(WaitlistEntry, offer.entry_id, populate_existing=True)
    assert entry is not None  # a foreign key
    if acting_patient_id is not None and acting_patient_id != entry.patient_id:
        try:
            await require_may_act(uow, acting_patient_id, entry.patient_id)
        except NotAllowed:
            raise NotAllowed("this offer was made to someone else") from None
    now = uow.clock.now()
    if offer.status != "open" or offer.expires_at <= now or entry.status != "waiting":
        if offer.status == "open":
            offer.status, offer.answered_at = "expired", now
        raise OfferGone("that time has gone; you stay on the waitlist")
    notice = (await get_clinic(uow)).min_notice_minutes
    if offer.starts_at < now + timedelta(minutes=notice):
        offer.status, offer.answered_at = "gone", now
        await uow.session.flush()
        raise TooSoon(f"that time is now less than {notice} minutes away, too soon to book "
                      "online; you stay on the waitlist")
    try:
        appointment = await _book(uow, entry, offer)
    except DomainError:
        offer.status, offer.answered_at = "gone", now
        await uow.session.flush()
        raise OfferGone("that time has gone; you stay on the waitlist") from None
    offer.status, offer.answered_at, offer.appointment_id = "accepted", now, appointment.id
    entry.status, entry.ended_at, entry.appointment_id = "booked", now, appointment.id
    await uow.session.execute(
        update(WaitlistOffer)
        .where(WaitlistOffer.status == "open", WaitlistOffer.id != offer.id,
               WaitlistOffer.practitioner_id == offer.practitioner_id,
               WaitlistOffer.starts_at == offer.starts_at)
        .values(status="gone", answered_at=now))
    await uow.session.flush()
    await withdraw_for(uow, entry.id)
    return appointment


async def _book(uow: UnitOfWork, entry: WaitlistEntry, offer: WaitlistOffer) -> Appointment:
    """Book the offer with the entry's package; one that can no longer cover it (used up,
    expired, refunded) gives way to the package pre-selected as usual, or none."""
    choices: list[int | Literal["auto"]] = ["auto"]
    if entry.package_id is not None:
        choices.insert(0, entry.package_id)
    for choice in choices:
        try:
            async with uow.session.begin_nested():
                return await appointments.book(
                    uow, patient_id=entry.patient_id, practitioner_id=offer.practitioner_id,
                    location_id=offer.location_id, fee_id=entry.fee_id,
                    starts_at=offer.starts_at, package_id=choice, booked_by="patient")
        except PackageNotUsable:
            if choice == "auto":
                raise
    raise AssertionError("unreachable")


async def decline(uow: UnitOfWork, offer_id: int, *, acting_patient_id: int | None = None) -> int:
    """The patient passes on an offer (they stay on the list); the time goes to the next
    patient. How many new offers were made."""
    first = await get_offer(uow, offer_id)
    await appointments.lock_practitioner(uow, first.practitioner_id)
    offer = await get_offer(uow, offer_id, lock=True)
    entry = await uow.session.get(WaitlistEntry, offer.entry_id)
    assert entry is not None
    if acting_patient_id is not None and acting_patient_id != entry.patient_id:
        await require_may_act(uow, acting_patient_id, entry.patient_id)
    if offer.status != "open":
        return 0
    offer.status, offer.answered_at = "declined", uow.clock.now()
    await uow.session.flush()
    return await offer_time(uow, offer.practitioner_id, offer.location_id, offer.starts_at)


async def expire_offers(uow: UnitOfWork) -> int:
    """Sweep: close the offers whose hold ran out and offer their times to the next patients;
    how many new offers were made (idempotent: see the module docstring).

    Per practitioner, the booking lock first (as :func:`accept` takes it, so the two never
    wait for each other in opposite order), then one conditional update closes the offers
    still open, so two instances sweeping at once close each offer once."""
    now = uow.clock.now()
    due = await uow.session.scalars(
        select(WaitlistOffer.practitioner_id).where(
            WaitlistOffer.status == "open", WaitlistOffer.expires_at <= now).distinct())
    made = 0
    for practitioner_id in sorted(due.all()):
        await appointments.lock_practitioner(uow, practitioner_id)
        closed = (await uow.session.execute(
            update(WaitlistOffer)
            .where(WaitlistOffer.practitioner_id == practitioner_id,
                   WaitlistOffer.status == "open", WaitlistOffer.expires_at <= now)
            .values(status="expired", answered_at=now)
            .returning(WaitlistOffer.location_id, WaitlistOffer.starts_at)
            .execution_options(synchronize_session=False))).all()
        for location_id, starts_at in sorted(set(closed), key=lambda row: (row[1], row[0])):
            made += await offer_time(uow, practitioner_id, location_id, starts_at)
    return made


async def withdraw_for(uow: UnitOfWork, entry_id: int) -> None:
    """Close an entry's open offers (it ended) and pass their times on."""
    now = uow.clock.now()
    rows = (await uow.session.execute(select(
        WaitlistOffer.id, WaitlistOffer.practitioner_id, WaitlistOffer.location_id,
        WaitlistOffer.starts_at).where(
        WaitlistOffer.entry_id == entry_id, WaitlistOffer.status == "open"))).all()
    for row in rows:
        await uow.session.execute(update(WaitlistOffer).where(WaitlistOffer.id == row.id)
                                  .values(status="withdrawn", answered_at=now))
        await offer_time(uow, row.practitioner_id, row.location_id, row.starts_at)
