"""Waitlist races on both databases (issue 19): never a double booking, never a stale offer.

Each competitor has its own unit of work (connection and transaction), all started at once;
on PostgreSQL they first open their transactions and wait at a barrier (see test_races.py).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.services import appointments, waitlist, waitlist_offers
from bot.services.clinic import get_clinic
from bot.services.errors import DomainError
from bot.storage.models import Appointment, WaitlistEntry, WaitlistOffer
from tests.booking_support import Ids, at, load_ids
from tests.integration.test_waitlist import (
    TUESDAY,
    booked,
    cancel,
    join,
    offers,
    open_offer,
    physio,
    set_batch,
    walk_in,
)

TIMEOUT = 120


@pytest.fixture
async def ids(clinic, make_uow) -> Ids:
    async with make_uow() as uow:
        return await load_ids(uow)


async def together(make_uow, works) -> list[object]:
    """Run each work(uow) in its own unit of work at once; its result (committed) or error."""
    barrier = asyncio.Barrier(len(works))

    async def compete(work) -> object:
        async with make_uow() as uow:
            if uow.dialect == "postgresql":
                await get_clinic(uow)
            await barrier.wait()
            result = await work(uow)
            await uow.commit()
            return result

    return await asyncio.wait_for(
        asyncio.gather(*(compete(w) for w in works), return_exceptions=True), TIMEOUT)


async def live_at_ten(make_uow, ids: Ids) -> list[int]:
    async with make_uow() as uow:
        rows = await uow.session.scalars(select(Appointment.patient_id).where(
            Appointment.status == "booked", Appointment.practitioner_id == ids.ana,
            Appointment.starts_at == at(TUESDAY, 10)))
        return list(rows)


async def test_two_patients_accepting_at_once_book_it_once(make_uow, ids):
    await set_batch(make_uow, 2)
    appointment = await booked(make_uow, ids, ids.sofia)
    first = await join(make_uow, ids.maya, physio(ids))
    second = await join(make_uow, ids.leo, physio(ids))
    await cancel(make_uow, appointment)
    held = [await open_offer(make_uow, first), await open_offer(make_uow, second)]

    def accepting(offer_id: int):
        async def work(uow):
            return (await waitlist_offers.accept(uow, offer_id)).id
        return work

    results = await together(make_uow, [accepting(offer) for offer in held])
    won = [r for r in results if isinstance(r, int)]
    lost = [r for r in results if not isinstance(r, int)]
    assert len(won) == 1 and all(isinstance(r, waitlist_offers.OfferGone) for r in lost), results
    assert len(await live_at_ten(make_uow, ids)) == 1


async def test_a_patient_accepting_while_the_desk_books_it(make_uow, ids):
    appointment = await booked(make_uow, ids, ids.sofia)
    entry = await join(make_uow, ids.maya, physio(ids))
    await cancel(make_uow, appointment)
    offer = await open_offer(make_uow, entry)

    async def patient(uow):
        return (await waitlist_offers.accept(uow, offer)).id

    async def desk(uow):
        return (await appointments.book(
            uow, patient_id=ids.sofia, practitioner_id=ids.ana, location_id=ids.downtown,
            fee_id=ids.physio_follow, starts_at=at(TUESDAY, 10), booked_by="staff")).id

    results = await together(make_uow, [patient, desk])
    assert sum(isinstance(r, int) for r in results) == 1, results
    assert all(isinstance(r, int | DomainError) for r in results), results
    assert len(await live_at_ten(make_uow, ids)) == 1


async def test_cancellations_at_once_offer_each_time_once_and_never_a_taken_one(make_uow, ids):
    early, late = await booked(make_uow, ids, ids.sofia), await booked(make_uow, ids, ids.sofia, 11)
    first = await join(make_uow, ids.maya, physio(ids))
    second = await join(make_uow, ids.leo, physio(ids))

    def cancelling(appointment_id: int):
        async def work(uow):
            return (await appointments.cancel(uow, appointment_id, by="staff")).id
        return work

    async def desk_books_ten(uow):
        return (await appointments.book(
            uow, patient_id=ids.sofia, practitioner_id=ids.ana, location_id=ids.downtown,
            fee_id=ids.physio_follow, starts_at=at(TUESDAY, 10), booked_by="staff")).id

    results = await together(make_uow, [cancelling(early), cancelling(late)])
    assert all(isinstance(r, int) for r in results), results
    assert sorted(await offers(make_uow)) == [(first, "open"), (second, "open")]
    async with make_uow() as uow:  # each time offered once, each patient holds one
        per_time = await uow.session.execute(select(
            WaitlistOffer.starts_at, func.count()).group_by(WaitlistOffer.starts_at))
        assert sorted(count for _, count in per_time) == [1, 1]
    ten = await uow_offer_at(make_uow, at(TUESDAY, 10))
    other = await uow_offer_at(make_uow, at(TUESDAY, 11))

    async def accept_ten(uow):
        return (await waitlist_offers.accept(uow, ten)).id

    async def accept_eleven(uow):
        return (await waitlist_offers.accept(uow, other)).id

    results = await together(make_uow, [accept_ten, desk_books_ten, accept_eleven])
    assert len(await live_at_ten(make_uow, ids)) == 1
    assert sum(isinstance(r, int) for r in results) == 2, results


async def uow_offer_at(make_uow, starts_at) -> int:
    async with make_uow() as uow:
        found = await uow.session.scalar(select(WaitlistOffer.id).where(
            WaitlistOffer.starts_at == starts_at, WaitlistOffer.status == "open"))
        assert found is not None
        return int(found)


async def test_two_sweeps_and_a_leaving_patient_at_once_pass_each_time_on_once(
        make_uow, ids, clock):
    appointment = await booked(make_uow, ids, await walk_in(make_uow))  # Sofía waits below
    first = await join(make_uow, ids.maya, physio(ids))
    second = await join(make_uow, ids.leo, physio(ids))
    third = await join(make_uow, ids.sofia, physio(ids))
    await cancel(make_uow, appointment)
    clock.set(clock.now() + timedelta(minutes=20))

    async def sweep(uow):
        return await waitlist_offers.expire_offers(uow)

    async def leo_leaves(uow):
        return (await waitlist.leave(uow, second)).id

    results = await together(make_uow, [sweep, sweep, leo_leaves])
    assert not [r for r in results if isinstance(r, BaseException)], results
    seen = sorted(await offers(make_uow))
    # Leo left before the sweep offered him the time, or after (then his offer was withdrawn):
    # either way the time is out to Sofía alone.
    assert [o for o in seen if o != (second, "withdrawn")] == [
        (first, "expired"), (third, "open")], seen


async def test_removing_entries_while_their_times_are_offered_never_deadlocks(make_uow, ids):
    """Offering takes the practitioner's lock, then the entry's; removing takes them in the
    same order: cancellations and removals at once never deadlock, and no open offer is left
    for an entry that ended."""
    await set_batch(make_uow, 2)  # each freed time to two patients at once: more to lock
    ada = await walk_in(make_uow)
    for first_hour in (9, 11):
        early = await booked(make_uow, ids, ada, first_hour)
        late = await booked(make_uow, ids, ada, first_hour + 1)
        maya = await join(make_uow, ids.maya, physio(ids))
        leo = await join(make_uow, ids.leo, physio(ids))
        await join(make_uow, ids.sofia, physio(ids))

        def cancelling(appointment_id: int):
            async def work(uow):
                return (await appointments.cancel(uow, appointment_id, by="staff")).id
            return work

        def leaving(entry_id: int):
            async def work(uow):
                return (await waitlist.leave(uow, entry_id)).id
            return work

        results = await together(make_uow, [
            cancelling(early), leaving(maya), cancelling(late), leaving(leo)])
        assert not [r for r in results if isinstance(r, BaseException)], results
        async with make_uow() as uow:
            held = (await uow.session.execute(
                select(WaitlistOffer.entry_id, WaitlistEntry.status)
                .join(WaitlistEntry, WaitlistEntry.id == WaitlistOffer.entry_id)
                .where(WaitlistOffer.status == "open"))).all()
        assert all(status == "waiting" for _, status in held), held
        assert len({entry for entry, _ in held}) == len(held), held
