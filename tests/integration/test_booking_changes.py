"""Cancelling, moving, arriving and changing the package of appointments (RULES.md 3-7).

The clock starts on Monday 2026-11-02 08:00 in Toronto; the clinic's cancel notice is 24 h.
Maya's imported Physio 5-pack (3 uses available) covers physio follow-ups with Ana downtown
until 2027-03-30; Leo's Massage 10-pack charges 10.00 per session.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from bot.services import appointments, packages
from bot.services.errors import (
    InvalidInput,
    NotAllowed,
    NotFound,
    PackageExpired,
    PackageNotUsable,
    PastExpiry,
    SlotTaken,
    TooLateToCancel,
    WrongState,
)
from bot.storage.models import Invoice, PackageRedemption, PatientPackage
from tests.booking_support import Ids, at, load_ids, wall

TUESDAY, WEDNESDAY = date(2026, 11, 3), date(2026, 11, 4)


@pytest.fixture
async def ids(clinic, make_uow) -> Ids:
    async with make_uow() as uow:
        return await load_ids(uow)


async def book(make_uow, ids: Ids, **change) -> int:
    booking = dict(patient_id=ids.maya, practitioner_id=ids.ana, location_id=ids.downtown,
                   fee_id=ids.physio_follow, starts_at=at(TUESDAY, 10))
    booking.update(change)
    async with make_uow() as uow:
        appointment = await appointments.book(uow, **booking)
        await uow.commit()
        return appointment.id


async def state(make_uow, appointment_id: int) -> tuple:
    """What the appointment looks like in the database: (local start, status, package, use)."""
    async with make_uow() as uow:
        a = await appointments.get_appointment(uow, appointment_id)
        return wall(a.starts_at), a.status, a.package_id, a.package_use


async def counters(make_uow, package_id: int) -> tuple[int, int, int]:
    async with make_uow() as uow:
        pack = await packages.get_package(uow, package_id)
        return pack.redeemed, pack.booked, pack.available


async def run(make_uow, action, *args, **kwargs):
    async with make_uow() as uow:
        result = await action(uow, *args, **kwargs)
        await uow.commit()
        return result


# --- cancel ------------------------------------------------------------------------------------


async def test_a_patient_cancels_in_time_and_gets_the_use_back(ids, make_uow, clock):
    appointment_id = await book(make_uow, ids)
    assert await counters(make_uow, ids.maya_pack) == (2, 1, 2)
    cancelled = await run(make_uow, appointments.cancel, appointment_id, by="patient",
                          acting_patient_id=ids.maya)
    assert cancelled.cancelled_at == clock.now()
    assert await state(make_uow, appointment_id) == ("2026-11-03 10:00", "cancelled", None, None)
    assert await counters(make_uow, ids.maya_pack) == (2, 0, 3)


async def test_a_patient_cannot_cancel_inside_the_notice_but_staff_can(ids, make_uow, clock):
    appointment_id = await book(make_uow, ids)
    clock.set(at(TUESDAY, 10) - timedelta(hours=24) + timedelta(minutes=1))
    with pytest.raises(TooLateToCancel) as refused:
        await run(make_uow, appointments.cancel, appointment_id, by="patient")
    assert "24 hours" in refused.value.message and "message" in refused.value.message
    assert await state(make_uow, appointment_id) == (
        "2026-11-03 10:00", "booked", ids.maya_pack, "reserved",
    )
    clock.set(at(TUESDAY, 10, 5))  # staff: any time before arrival, even once it started
    await run(make_uow, appointments.cancel, appointment_id, by="staff")
    assert (await state(make_uow, appointment_id))[1:] == ("cancelled", None, None)
    assert await counters(make_uow, ids.maya_pack) == (2, 0, 3)


async def test_exactly_at_the_notice_a_patient_may_still_cancel(ids, make_uow, clock):
    appointment_id = await book(make_uow, ids)
    clock.set(at(TUESDAY, 10) - timedelta(hours=24))
    await run(make_uow, appointments.cancel, appointment_id)
    assert (await state(make_uow, appointment_id))[1] == "cancelled"


async def test_arrived_or_cancelled_appointments_cannot_be_cancelled(ids, make_uow, clock):
    arrived = await book(make_uow, ids)
    cancelled = await book(make_uow, ids, starts_at=at(TUESDAY, 11))
    clock.set(at(TUESDAY, 10))
    await run(make_uow, appointments.arrive, arrived)
    with pytest.raises(WrongState, match="arrived"):
        await run(make_uow, appointments.cancel, arrived, by="staff")
    await run(make_uow, appointments.cancel, cancelled, by="staff")
    with pytest.raises(WrongState, match="cancelled"):
        await run(make_uow, appointments.cancel, cancelled, by="staff")


async def test_only_the_patient_or_their_guardian_may_cancel(ids, make_uow):
    leos = await book(make_uow, ids, patient_id=ids.leo, practitioner_id=ids.ben,
                      location_id=ids.east, fee_id=ids.massage, starts_at=at(WEDNESDAY, 9))
    with pytest.raises(NotAllowed):
        await run(make_uow, appointments.cancel, leos, acting_patient_id=ids.sofia)
    mayas = await book(make_uow, ids)
    with pytest.raises(NotAllowed):  # a ward does not manage their guardian
        await run(make_uow, appointments.cancel, mayas, acting_patient_id=ids.leo)
    assert (await state(make_uow, leos))[1] == "booked"
    await run(make_uow, appointments.cancel, leos, acting_patient_id=ids.maya)  # guardian
    assert (await state(make_uow, leos))[1:] == ("cancelled", None, None)
    assert await counters(make_uow, ids.leo_pack) == (0, 0, 10)


# --- reschedule --------------------------------------------------------------------------------


async def test_rescheduling_moves_the_appointment_and_keeps_its_package(ids, make_uow):
    appointment_id = await book(make_uow, ids)
    moved = await run(make_uow, appointments.reschedule, appointment_id, at(WEDNESDAY, 14),
                      acting_patient_id=ids.maya)
    assert wall(moved.ends_at) == "2026-11-04 14:30" and moved.confirmed_at is None
    assert await state(make_uow, appointment_id) == (
        "2026-11-04 14:00", "booked", ids.maya_pack, "reserved",
    )
    assert await counters(make_uow, ids.maya_pack) == (2, 1, 2)


async def test_rescheduling_may_overlap_the_appointments_own_old_time(ids, make_uow):
    appointment_id = await book(make_uow, ids)
    await run(make_uow, appointments.reschedule, appointment_id, at(TUESDAY, 10, 15))
    assert (await state(make_uow, appointment_id))[0] == "2026-11-03 10:15"


async def test_a_patient_cannot_reschedule_inside_the_notice(ids, make_uow, clock):
    appointment_id = await book(make_uow, ids)
    clock.set(at(TUESDAY, 9))
    with pytest.raises(TooLateToCancel, match="24 hours"):
        await run(make_uow, appointments.reschedule, appointment_id, at(WEDNESDAY, 14))
    assert (await state(make_uow, appointment_id))[0] == "2026-11-03 10:00"
    await run(make_uow, appointments.reschedule, appointment_id, at(WEDNESDAY, 14), by="staff")
    assert (await state(make_uow, appointment_id))[0] == "2026-11-04 14:00"


async def test_rescheduling_onto_a_taken_or_impossible_time_changes_nothing(ids, make_uow):
    appointment_id = await book(make_uow, ids)
    await book(make_uow, ids, patient_id=ids.sofia, starts_at=at(WEDNESDAY, 14), package_id=None)
    before = await state(make_uow, appointment_id)
    with pytest.raises(SlotTaken):
        await run(make_uow, appointments.reschedule, appointment_id, at(WEDNESDAY, 14, 15))
    with pytest.raises(InvalidInput, match="does not offer"):
        await run(make_uow, appointments.reschedule, appointment_id, at(WEDNESDAY, 9),
                  by="staff", new_practitioner_id=ids.ben, new_location_id=ids.east)
    assert await state(make_uow, appointment_id) == before
    assert await counters(make_uow, ids.maya_pack) == (2, 1, 2)


async def test_moving_a_package_appointment_past_the_expiry_says_what_would_allow_it(
    ids, make_uow, clock
):
    clock.set(datetime(2027, 3, 22, 12, tzinfo=UTC))  # Monday 08:00 EDT, a week before expiry
    appointment_id = await book(make_uow, ids, starts_at=at("2027-03-25", 10))
    with pytest.raises(PastExpiry) as refused:
        await run(make_uow, appointments.reschedule, appointment_id, at("2027-03-31", 10))
    message = refused.value.message
    assert "expires on 2027-03-30" in message
    assert "Removing the package" in message and "extending the package's expiry" in message
    assert await state(make_uow, appointment_id) == (
        "2027-03-25 10:00", "booked", ids.maya_pack, "reserved",
    )
    # The last day the package covers is fine.
    await run(make_uow, appointments.reschedule, appointment_id, at("2027-03-30", 10))
    # Extending the expiry allows the move.
    async with make_uow() as uow:
        pack = await packages.get_package(uow, ids.maya_pack)
        pack.expires_on = date(2027, 4, 30)
        await uow.commit()
    await run(make_uow, appointments.reschedule, appointment_id, at("2027-03-31", 10))
    assert (await state(make_uow, appointment_id))[:3] == (
        "2027-03-31 10:00", "booked", ids.maya_pack,
    )


async def test_removing_the_package_allows_moving_past_the_expiry(ids, make_uow, clock):
    clock.set(datetime(2027, 3, 22, 12, tzinfo=UTC))
    appointment_id = await book(make_uow, ids, starts_at=at("2027-03-25", 10))
    await run(make_uow, appointments.remove_package, appointment_id)
    assert await counters(make_uow, ids.maya_pack) == (2, 0, 3)
    await run(make_uow, appointments.reschedule, appointment_id, at("2027-03-31", 10))
    assert await state(make_uow, appointment_id) == ("2027-03-31 10:00", "booked", None, None)


async def test_a_move_must_stay_with_the_packages_practitioners_and_locations(ids, make_uow):
    appointment_id = await book(make_uow, ids)
    friday = at("2026-11-06", 11)  # Ana works at the east location on Fridays
    with pytest.raises(PackageNotUsable, match="location"):
        await run(make_uow, appointments.reschedule, appointment_id, friday,
                  by="staff", new_location_id=ids.east)
    assert (await state(make_uow, appointment_id))[0] == "2026-11-03 10:00"
    without = await book(make_uow, ids, starts_at=at(TUESDAY, 11), package_id=None)
    await run(make_uow, appointments.reschedule, without, friday, by="staff",
              new_location_id=ids.east)
    assert (await state(make_uow, without))[0] == "2026-11-06 11:00"


async def test_only_booked_appointments_move_and_only_for_those_allowed(ids, make_uow):
    appointment_id = await book(make_uow, ids)
    with pytest.raises(NotAllowed):
        await run(make_uow, appointments.reschedule, appointment_id, at(WEDNESDAY, 14),
                  acting_patient_id=ids.sofia)
    await run(make_uow, appointments.cancel, appointment_id)
    with pytest.raises(WrongState):
        await run(make_uow, appointments.reschedule, appointment_id, at(WEDNESDAY, 14))


# --- the package on an appointment -------------------------------------------------------------


async def test_the_package_comes_off_only_before_arrival(ids, make_uow, clock):
    appointment_id = await book(make_uow, ids)
    plain = await book(make_uow, ids, starts_at=at(TUESDAY, 11), package_id=None)
    clock.set(at(TUESDAY, 10))
    await run(make_uow, appointments.arrive, appointment_id)
    with pytest.raises(WrongState, match="before the appointment is marked arrived"):
        await run(make_uow, appointments.remove_package, appointment_id)
    assert (await state(make_uow, appointment_id))[2:] == (ids.maya_pack, "redeemed")
    with pytest.raises(WrongState, match="no package"):
        await run(make_uow, appointments.remove_package, plain)


async def test_staff_attach_a_package_under_its_rules(ids, make_uow):
    plain = await book(make_uow, ids, package_id=None)
    await run(make_uow, appointments.attach_package, plain, ids.maya_pack)
    assert (await state(make_uow, plain))[2:] == (ids.maya_pack, "reserved")
    assert await counters(make_uow, ids.maya_pack) == (2, 1, 2)
    with pytest.raises(WrongState, match="already has a package"):
        await run(make_uow, appointments.attach_package, plain, ids.maya_pack)
    initial = await book(make_uow, ids, fee_id=ids.physio_initial, starts_at=at(TUESDAY, 11))
    with pytest.raises(PackageNotUsable, match="treatment"):
        await run(make_uow, appointments.attach_package, initial, ids.maya_pack)
    sofias = await book(make_uow, ids, patient_id=ids.sofia, starts_at=at(TUESDAY, 13))
    with pytest.raises(NotAllowed):
        await run(make_uow, appointments.attach_package, sofias, ids.maya_pack)
    assert await counters(make_uow, ids.maya_pack) == (2, 1, 2)


# --- arrival -----------------------------------------------------------------------------------


async def test_arrival_redeems_the_package_use_and_bills_patient_pays(ids, make_uow, clock):
    leos = await book(make_uow, ids, patient_id=ids.leo, practitioner_id=ids.ben,
                      location_id=ids.east, fee_id=ids.massage, starts_at=at(WEDNESDAY, 9))
    clock.set(at(WEDNESDAY, 8, 55))
    arrived = await run(make_uow, appointments.arrive, leos)
    assert arrived.arrived_at == clock.now()
    assert await state(make_uow, leos) == ("2026-11-04 09:00", "arrived", ids.leo_pack,
                                           "redeemed")
    assert await counters(make_uow, ids.leo_pack) == (1, 0, 9)
    async with make_uow() as uow:
        invoice = await uow.session.scalar(select(Invoice).where(Invoice.appointment_id == leos))
        assert invoice is not None
        assert (invoice.kind, invoice.amount, invoice.patient_id) == (
            "session", Decimal("10.00"), ids.leo,
        )
        redemption = await uow.session.scalar(
            select(PackageRedemption).where(PackageRedemption.appointment_id == leos)
        )
        assert redemption is not None and redemption.kind == "arrival"


async def test_arrival_with_a_free_session_package_bills_nothing(ids, make_uow, clock):
    mayas = await book(make_uow, ids)
    clock.set(at(TUESDAY, 10))
    await run(make_uow, appointments.arrive, mayas)
    assert await counters(make_uow, ids.maya_pack) == (3, 0, 2)
    async with make_uow() as uow:
        assert await uow.session.scalar(
            select(Invoice).where(Invoice.appointment_id == mayas)
        ) is None


async def test_arrival_without_a_package_bills_the_fee(ids, make_uow, clock):
    sofias = await book(make_uow, ids, patient_id=ids.sofia)
    clock.set(at(TUESDAY, 10))
    await run(make_uow, appointments.arrive, sofias)
    async with make_uow() as uow:
        invoice = await uow.session.scalar(select(Invoice).where(Invoice.appointment_id == sofias))
        assert invoice is not None
        assert (invoice.kind, invoice.amount, invoice.status) == (
            "session", Decimal("90.00"), "open",
        )
        assert invoice.issued_on == TUESDAY


async def test_cancelled_or_arrived_appointments_cannot_be_arrived(ids, make_uow, clock):
    appointment_id = await book(make_uow, ids)
    await run(make_uow, appointments.cancel, appointment_id)
    with pytest.raises(WrongState, match="cancelled"):
        await run(make_uow, appointments.arrive, appointment_id)
    other = await book(make_uow, ids, patient_id=ids.sofia)
    clock.set(at(TUESDAY, 10))
    await run(make_uow, appointments.arrive, other)
    with pytest.raises(WrongState, match="arrived"):
        await run(make_uow, appointments.arrive, other)
    async with make_uow() as uow:
        invoices = (await uow.session.scalars(
            select(Invoice).where(Invoice.appointment_id == other)
        )).all()
        assert len(invoices) == 1


async def test_an_expired_package_is_not_redeemed_at_arrival(ids, make_uow, clock):
    appointment_id = await book(make_uow, ids)
    async with make_uow() as uow:  # staff shortened the expiry after the booking
        pack = await uow.session.get(PatientPackage, ids.maya_pack)
        assert pack is not None
        pack.expires_on = date(2026, 11, 2)
        await uow.commit()
    clock.set(at(TUESDAY, 10))
    with pytest.raises(PackageExpired):
        await run(make_uow, appointments.arrive, appointment_id)
    assert (await state(make_uow, appointment_id))[1:] == ("booked", ids.maya_pack, "reserved")
    assert await counters(make_uow, ids.maya_pack) == (2, 1, 2)


# --- queries -----------------------------------------------------------------------------------


async def test_upcoming_lists_the_patients_booked_future_appointments(ids, make_uow, clock):
    later = await book(make_uow, ids, starts_at=at(WEDNESDAY, 14))
    sooner = await book(make_uow, ids, starts_at=at(TUESDAY, 10))
    cancelled = await book(make_uow, ids, starts_at=at(TUESDAY, 12))
    await run(make_uow, appointments.cancel, cancelled)
    await book(make_uow, ids, patient_id=ids.sofia, starts_at=at(TUESDAY, 15))
    async with make_uow() as uow:
        assert [a.id for a in await appointments.upcoming_for(uow, ids.maya)] == [sooner, later]
    clock.set(at(TUESDAY, 10, 1))
    async with make_uow() as uow:
        assert [a.id for a in await appointments.upcoming_for(uow, ids.maya)] == [later]
        with pytest.raises(NotFound):
            await appointments.get_appointment(uow, 999_999)
