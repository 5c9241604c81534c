"""The waitlist's finer rules (issue 19): who is never offered a time, when a time is too close
to offer, and times a reloaded set-up file opens."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.clinicfile import read_clinic_file
from bot.services import appointments, waitlist, waitlist_match, waitlist_offers
from bot.services.setup import load_clinic
from bot.storage.models import Clinic, OutboxMessage, WaitlistEntry, WaitlistOffer
from tests.booking_support import Ids, at, load_ids
from tests.conftest import EXAMPLE_FILE
from tests.integration.test_waitlist import (
    TUESDAY,
    booked,
    cancel,
    join,
    offers,
    open_offer,
    physio,
    set_batch,
)

WEDNESDAY = "2026-11-04"  # Ana downtown 09:00-17:00, Ben at East End 08:00-14:00
ANA_WEEK = ('{ location = "downtown", days = ["mon", "tue", "wed", "thu"], start = "09:00", '
            'end = "17:00" },')


@pytest.fixture
async def ids(clinic, make_uow) -> Ids:
    async with make_uow() as uow:
        return await load_ids(uow)


async def open_offers(make_uow) -> list[tuple[int, object]]:
    async with make_uow() as uow:
        rows = await uow.session.execute(select(WaitlistOffer.entry_id, WaitlistOffer.starts_at)
                                         .where(WaitlistOffer.status == "open")
                                         .order_by(WaitlistOffer.id))
        return [(entry, starts) for entry, starts in rows]


async def test_the_patient_who_freed_a_time_is_never_offered_it(make_uow, ids, clock):
    mine = await booked(make_uow, ids, ids.maya)
    maya = await join(make_uow, ids.maya, physio(ids))
    leo = await join(make_uow, ids.leo, physio(ids))
    await cancel(make_uow, mine)  # Maya's own 10:00 goes to Leo, not back to her
    assert await offers(make_uow) == [(maya, "skipped"), (leo, "open")]
    clock.set(clock.now() + timedelta(minutes=20))
    async with make_uow() as uow:  # Leo's hold runs out: nobody else, never Maya
        assert await waitlist_offers.expire_offers(uow) == 0
        await uow.commit()
    moved = await booked(make_uow, ids, ids.maya, hour=11)
    async with make_uow() as uow:  # she moves her 11:00 to 15:00: 11:00 goes to Leo alone
        await appointments.reschedule(uow, moved, at(TUESDAY, 15), by="staff")
        await uow.commit()
    assert await open_offers(make_uow) == [(leo, at(TUESDAY, 11))]
    async with make_uow() as uow:
        skipped = await uow.session.scalars(select(WaitlistOffer.starts_at).where(
            WaitlistOffer.status == "skipped").order_by(WaitlistOffer.starts_at))
        assert list(skipped) == [at(TUESDAY, 10), at(TUESDAY, 11)]


async def test_a_patient_booked_at_that_time_is_not_offered_it(make_uow, ids):
    async with make_uow() as uow:  # Maya's massage with Ben, Wednesday 10:00-11:00
        await appointments.book(
            uow, patient_id=ids.maya, practitioner_id=ids.ben, location_id=ids.east,
            fee_id=ids.massage, starts_at=at(WEDNESDAY, 10), booked_by="staff")
        sofias = await appointments.book(
            uow, patient_id=ids.sofia, practitioner_id=ids.ana, location_id=ids.downtown,
            fee_id=ids.physio_follow, starts_at=at(WEDNESDAY, 10, 30), booked_by="staff")
        await uow.commit()
    await join(make_uow, ids.maya, physio(ids))
    leo = await join(make_uow, ids.leo, physio(ids))
    await cancel(make_uow, sofias.id)
    assert await open_offers(make_uow) == [(leo, at(WEDNESDAY, 10, 30))]
    async with make_uow() as uow:  # Leo is booked at that time before the offer goes out
        await appointments.book(
            uow, patient_id=ids.leo, practitioner_id=ids.ana, location_id=ids.downtown,
            fee_id=ids.physio_initial, starts_at=at(WEDNESDAY, 10, 45), booked_by="staff")
        message = await uow.session.scalar(select(OutboxMessage))
        assert message is not None
        assert await waitlist_match.why_not_send(uow, message.params) == (
            "the patient has booked that time meanwhile")


async def test_a_hold_ends_before_the_booking_notice_and_a_late_answer_is_told_why(
    make_uow, ids, clock
):
    await set_batch(make_uow, 1, hold=90)
    clock.set(at("2026-11-02", 22))  # sent at 08:00 (quiet hours), 2 hours' notice
    early, late = await booked(make_uow, ids, ids.leo), await booked(make_uow, ids, ids.leo, 11)
    entry = await join(make_uow, ids.maya, physio(ids))
    await cancel(make_uow, early)  # 10:00 cannot be booked online once 08:00 comes
    await cancel(make_uow, late)
    async with make_uow() as uow:
        offer = await uow.session.scalar(select(WaitlistOffer))
        assert offer is not None
        assert (offer.starts_at, offer.expires_at) == (at(TUESDAY, 11), at(TUESDAY, 9))
        clinic = await uow.session.get(Clinic, 1)
        assert clinic is not None
        clinic.min_notice_minutes = 240
        await uow.commit()
    clock.set(at(TUESDAY, 8, 5))  # the clinic asks 4 hours now
    offer_id = await open_offer(make_uow, entry)
    async with make_uow() as uow:  # as the dialog does: the answer is kept, nothing booked
        with pytest.raises(waitlist_offers.TooSoon, match="too soon to book online"):
            await waitlist_offers.accept(uow, offer_id)
        await uow.commit()
    async with make_uow() as uow:
        assert [e.id for e in await waitlist.entries_for(uow, [ids.maya])] == [entry]
        assert await uow.session.scalar(select(WaitlistOffer.status)) == "gone"


async def test_a_reloaded_set_up_file_offers_the_new_hours(make_uow, ids, tmp_path):
    evenings = await join(make_uow, ids.maya, physio(ids, weekdays=(1,), parts=("evening",)))
    await join(make_uow, ids.leo, physio(ids, parts=("morning",)))  # mornings were open before
    longer = tmp_path / "clinic.toml"
    example = EXAMPLE_FILE.read_text()
    assert ANA_WEEK in example
    longer.write_text(example.replace(ANA_WEEK, ANA_WEEK + '\n  { location = "downtown", '
                                      'days = ["tue"], start = "17:00", end = "19:00" },'))
    async with make_uow() as uow:
        summary = await load_clinic(uow, read_clinic_file(longer))
        await uow.commit()
    assert "waitlist: 1 newly opened time(s) offered to waiting patients" in summary.lines()
    assert await open_offers(make_uow) == [(evenings, at(TUESDAY, 17))]
    async with make_uow() as uow:
        again = await load_clinic(uow, read_clinic_file(longer))  # the same file: nothing new
        await uow.commit()
    assert again.offered == 0
    async with make_uow() as uow:
        waiting = await uow.session.scalar(select(WaitlistEntry.status).where(
            WaitlistEntry.id == evenings))
        assert waiting == "waiting"


async def test_time_off_a_reloaded_set_up_file_drops_is_offered(make_uow, ids, tmp_path):
    away = tmp_path / "clinic.toml"
    away.write_text(EXAMPLE_FILE.read_text() + '\n[[time_off]]\npractitioner = "ana"\n'
                    'from = "2026-11-03 09:00"\nto = "2026-11-03 10:00"\n')
    async with make_uow() as uow:
        await load_clinic(uow, read_clinic_file(away))
        await uow.commit()
    entry = await join(make_uow, ids.maya, physio(ids, weekdays=(1,), parts=("morning",)))
    async with make_uow() as uow:  # the file without the time off: 09:00 opens again
        await load_clinic(uow, read_clinic_file(EXAMPLE_FILE))
        await uow.commit()
    assert await open_offers(make_uow) == [(entry, at(TUESDAY, 9))]
