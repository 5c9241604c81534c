"""The waitlist (issue 19): freed times offered in order, held, accepted once, passed on."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select, update

from bot.clinicfile import ClinicFileError, read_clinic_file
from bot.services import appointments, closures, waitlist, waitlist_match, waitlist_offers
from bot.services.errors import InvalidInput, NotAllowed, WrongState
from bot.services.setup import load_clinic
from bot.services.waitlist import Wish
from bot.services.waitlist_offers import OfferGone
from bot.storage.models import (
    Appointment,
    Clinic,
    OutboxMessage,
    Patient,
    PatientPackage,
    WaitlistOffer,
)
from tests.booking_support import Ids, at, load_ids
from tests.conftest import EXAMPLE_FILE

TUESDAY = "2026-11-03"  # Ana works downtown 09:00-17:00


@pytest.fixture
async def ids(clinic, make_uow) -> Ids:
    async with make_uow() as uow:
        return await load_ids(uow)


async def set_batch(make_uow, batch: int, hold: int = 15) -> None:
    async with make_uow() as uow:
        await uow.session.execute(
            update(Clinic).values(waitlist_batch=batch, waitlist_hold_minutes=hold))
        await uow.commit()


async def booked(make_uow, ids: Ids, patient: int, hour: int = 10) -> int:
    async with make_uow() as uow:
        appointment = await appointments.book(
            uow, patient_id=patient, practitioner_id=ids.ana, location_id=ids.downtown,
            fee_id=ids.physio_follow, starts_at=at(TUESDAY, hour), booked_by="staff")
        await uow.commit()
        return appointment.id


async def walk_in(make_uow) -> int:
    """A patient who is on no list and waits for nothing (whose appointment is cancelled)."""
    async with make_uow() as uow:
        ada = Patient(first_name="Ada", last_name="Lee", phone="+14165550199",
                      created_at=uow.clock.now())
        uow.session.add(ada)
        await uow.commit()
        return ada.id


async def join(make_uow, patient: int, wish: Wish, acting: int | None = None) -> int:
    async with make_uow() as uow:
        entry = await waitlist.join(uow, patient, wish, acting_patient_id=acting)
        await uow.commit()
        return entry.id


async def cancel(make_uow, appointment_id: int) -> None:
    async with make_uow() as uow:
        await appointments.cancel(uow, appointment_id, by="staff")
        await uow.commit()


async def offers(make_uow) -> list[tuple[int, str]]:
    async with make_uow() as uow:
        rows = await uow.session.execute(
            select(WaitlistOffer.entry_id, WaitlistOffer.status).order_by(WaitlistOffer.id))
        return [(entry, status) for entry, status in rows]


async def open_offer(make_uow, entry_id: int) -> int:
    async with make_uow() as uow:
        found = await uow.session.scalar(select(WaitlistOffer.id).where(
            WaitlistOffer.entry_id == entry_id, WaitlistOffer.status == "open"))
        assert found is not None
        return int(found)


async def accept(make_uow, offer_id: int, acting: int | None = None) -> int:
    async with make_uow() as uow:
        appointment = await waitlist_offers.accept(uow, offer_id, acting_patient_id=acting)
        await uow.commit()
        return appointment.id


def physio(ids: Ids, **more) -> Wish:
    return Wish(fee_id=ids.physio_follow, practitioner_id=ids.ana, **more)


async def test_a_cancelled_time_goes_to_the_first_waiting_patient_and_on_when_it_expires(
    make_uow, ids, clock
):
    appointment = await booked(make_uow, ids, ids.sofia)
    first = await join(make_uow, ids.maya, physio(ids, package_id=ids.maya_pack))
    second = await join(make_uow, ids.leo, physio(ids), acting=ids.maya)  # the guardian asks
    await cancel(make_uow, appointment)
    assert await offers(make_uow) == [(first, "open")]
    held = await open_offer(make_uow, first)
    async with make_uow() as uow:
        queued = await uow.session.scalars(select(OutboxMessage.purpose).where(
            OutboxMessage.kind == waitlist_offers.OFFER))
        assert list(queued) == [f"waitlist:offer:{held}"]
        assert await waitlist_offers.expire_offers(uow) == 0  # still held
    clock.set(clock.now() + timedelta(minutes=16))
    async with make_uow() as uow:
        assert await waitlist_offers.expire_offers(uow) == 1
        await uow.commit()
    async with make_uow() as uow:
        assert await waitlist_offers.expire_offers(uow) == 0  # once
        await uow.commit()
    assert await offers(make_uow) == [(first, "expired"), (second, "open")]
    late = await open_offer(make_uow, second)
    new = await accept(make_uow, late, acting=ids.maya)
    async with make_uow() as uow:
        appointment_row = await uow.session.get(Appointment, new)
        assert appointment_row is not None
        assert (appointment_row.patient_id, appointment_row.starts_at) == (
            ids.leo, at(TUESDAY, 10))
        assert [e.id for e in await waitlist.entries_for(uow, [ids.maya, ids.leo])] == [first]
        assert await waitlist.refilled(uow, clock.now().date(), clock.now().date() + timedelta(
            days=3)) == 1


async def test_the_package_is_applied_and_a_late_acceptance_is_told_it_has_gone(
    make_uow, ids
):
    await set_batch(make_uow, 2)
    appointment = await booked(make_uow, ids, ids.sofia)
    first = await join(make_uow, ids.maya, physio(ids, package_id=ids.maya_pack))
    second = await join(make_uow, ids.leo, physio(ids))
    await cancel(make_uow, appointment)
    assert await offers(make_uow) == [(first, "open"), (second, "open")]
    mine, theirs = await open_offer(make_uow, first), await open_offer(make_uow, second)
    new = await accept(make_uow, mine)
    with pytest.raises(OfferGone):
        await accept(make_uow, theirs)
    async with make_uow() as uow:
        row = await uow.session.get(Appointment, new)
        assert row is not None and row.package_id == ids.maya_pack
        assert [e.id for e in await waitlist.entries_for(uow, [ids.leo])] == [second]
    assert await offers(make_uow) == [(first, "accepted"), (second, "gone")]


async def test_only_matching_entries_are_offered(make_uow, ids):
    appointment = await booked(make_uow, ids, ids.sofia)  # Tuesday 10:00, a morning
    await join(make_uow, ids.maya, physio(ids, weekdays=(0,)))  # Mondays only
    await join(make_uow, ids.maya, physio(ids, parts=("afternoon",)))
    await join(make_uow, ids.maya, Wish(fee_id=ids.physio_follow, location_id=ids.east))
    fits = await join(make_uow, ids.leo, physio(ids, weekdays=(1,), parts=("morning",)))
    await cancel(make_uow, appointment)
    assert await offers(make_uow) == [(fits, "open")]


async def test_leaving_passes_the_offer_on_and_bad_wishes_are_refused(make_uow, ids):
    appointment = await booked(make_uow, ids, ids.sofia)
    first = await join(make_uow, ids.maya, physio(ids))
    second = await join(make_uow, ids.leo, physio(ids))
    await cancel(make_uow, appointment)
    async with make_uow() as uow:
        with pytest.raises(NotAllowed):
            await waitlist.leave(uow, first, acting_patient_id=ids.sofia)
    async with make_uow() as uow:
        await waitlist.leave(uow, first, acting_patient_id=ids.maya)
        await uow.commit()
    assert await offers(make_uow) == [(first, "withdrawn"), (second, "open")]
    async with make_uow() as uow:
        with pytest.raises(WrongState):
            await waitlist.leave(uow, first)
        with pytest.raises(InvalidInput):
            await waitlist.join(uow, ids.maya, physio(ids, weekdays=(9,)))
        with pytest.raises(InvalidInput):
            await waitlist.join(uow, ids.maya, Wish(fee_id=ids.massage, practitioner_id=ids.ana))
        with pytest.raises(NotAllowed):
            await waitlist.join(uow, ids.maya, physio(ids), acting_patient_id=ids.sofia)


async def test_a_time_taken_meanwhile_is_gone_and_a_rescheduled_time_is_offered(
    make_uow, ids
):
    appointment = await booked(make_uow, ids, ids.sofia)
    entry = await join(make_uow, ids.maya, physio(ids))
    async with make_uow() as uow:  # the patient moves to 11:00: 10:00 is freed
        await appointments.reschedule(uow, appointment, at(TUESDAY, 11), by="staff")
        await uow.commit()
    offer = await open_offer(make_uow, entry)
    await booked(make_uow, ids, ids.sofia, hour=10)  # the desk books it first
    with pytest.raises(OfferGone):
        await accept(make_uow, offer)
    async with make_uow() as uow:
        assert [e.id for e in await waitlist.entries_for(uow, [ids.maya])] == [entry]
        message = await uow.session.scalar(select(OutboxMessage))
        assert message is not None
        assert await waitlist_match.why_not_send(uow, message.params) == (
            "the offered time was booked meanwhile")


async def test_one_offer_at_a_time_per_patient(make_uow, ids):
    early, late = await booked(make_uow, ids, ids.sofia), await booked(make_uow, ids, ids.sofia, 11)
    first = await join(make_uow, ids.maya, physio(ids))
    second = await join(make_uow, ids.leo, physio(ids))
    await cancel(make_uow, early)
    await cancel(make_uow, late)  # a second cancellation while an offer is out
    assert await offers(make_uow) == [(first, "open"), (second, "open")]


async def test_time_off_removed_offers_its_times_in_order(make_uow, ids):
    async with make_uow() as uow:  # Ana away Tuesday 09:00-10:00
        [away], _ = await closures.add(uow, starts_at=at(TUESDAY, 9), ends_at=at(TUESDAY, 10),
                                       practitioner_id=ids.ana)
        await uow.commit()
    first = await join(make_uow, ids.maya, physio(ids, weekdays=(1,), parts=("morning",)))
    second = await join(make_uow, ids.leo, physio(ids, weekdays=(1,)))
    await join(make_uow, ids.sofia, physio(ids, parts=("evening",)))  # nothing suits her
    async with make_uow() as uow:
        await closures.remove(uow, away.id, time_off=True)
        await uow.commit()
    async with make_uow() as uow:
        rows = (await uow.session.execute(select(
            WaitlistOffer.entry_id, WaitlistOffer.starts_at).order_by(WaitlistOffer.id))).all()
    assert [(entry, starts) for entry, starts in rows] == [
        (first, at(TUESDAY, 9)), (second, at(TUESDAY, 9, 15))]


async def test_quiet_hours_start_the_hold_later_and_an_opted_out_patient_is_skipped(
    make_uow, ids, clock
):
    ten, eleven = await booked(make_uow, ids, ids.leo), await booked(make_uow, ids, ids.leo, 11)
    await join(make_uow, ids.sofia, physio(ids))  # she opts out below
    second = await join(make_uow, ids.maya, physio(ids))
    async with make_uow() as uow:
        sofia = await uow.session.get(Patient, ids.sofia)
        assert sofia is not None
        sofia.opted_out = True
        await uow.commit()
    clock.set(at("2026-11-02", 22))  # quiet hours: 21:00-08:00; booking notice: 2 hours
    await cancel(make_uow, ten)  # sent at 08:00, 10:00 is already inside the notice
    await cancel(make_uow, eleven)
    async with make_uow() as uow:
        offer = await uow.session.scalar(select(WaitlistOffer))
        assert offer is not None
        assert (offer.entry_id, offer.starts_at, offer.expires_at) == (
            second, at(TUESDAY, 11), at(TUESDAY, 8, 15))
        message = await uow.session.scalar(select(OutboxMessage))
        assert message is not None and message.patient_id == ids.maya


async def test_a_package_that_can_no_longer_cover_it_gives_way(make_uow, ids):
    appointment = await booked(make_uow, ids, ids.sofia)
    entry = await join(make_uow, ids.maya, physio(ids, package_id=ids.maya_pack,
                                                  until=date(2026, 11, 20)))
    await cancel(make_uow, appointment)
    async with make_uow() as uow:  # the package now expires before the offered Tuesday
        await uow.session.execute(update(PatientPackage).where(
            PatientPackage.id == ids.maya_pack).values(expires_on=date(2026, 11, 2)))
        await uow.commit()
    new = await accept(make_uow, await open_offer(make_uow, entry))
    async with make_uow() as uow:
        row = await uow.session.get(Appointment, new)
        assert row is not None and (row.patient_id, row.package_id) == (ids.maya, None)


async def test_the_set_up_files_booking_table_sets_the_batch_and_the_hold(
    make_uow, ids, tmp_path
):
    async with make_uow() as uow:
        clinic = await uow.session.get(Clinic, 1)
        assert clinic is not None
        assert (clinic.waitlist_batch, clinic.waitlist_hold_minutes) == (1, 15)  # defaults
    tuned = tmp_path / "clinic.toml"
    example = EXAMPLE_FILE.read_text()
    tuned.write_text(example + "\n[booking]\nwaitlist_batch = 3\nwaitlist_hold_minutes = 30\n")
    async with make_uow() as uow:
        await load_clinic(uow, read_clinic_file(tuned))
        await uow.commit()
    async with make_uow() as uow:
        clinic = await uow.session.get(Clinic, 1, populate_existing=True)
        assert clinic is not None
        assert (clinic.waitlist_batch, clinic.waitlist_hold_minutes) == (3, 30)
    tuned.write_text(example + "\n[booking]\nwaitlist_batch = 0\n")
    with pytest.raises(ClinicFileError, match="waitlist_batch"):
        read_clinic_file(tuned)
