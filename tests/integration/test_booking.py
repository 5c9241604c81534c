"""Offered slots and booking on both databases (RULES.md 3, 4, 20), with the example clinic.

The clock starts on Monday 2026-11-02 08:00 in Toronto; Ana works downtown Mon-Thu 09-17,
the clinic asks 120 minutes' notice and lets patients book 28 days ahead.
"""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest
from sqlalchemy import event, func, select, update

from bot.services import appointments, availability, billing, package_scope, packages
from bot.services.errors import (
    InvalidInput,
    NotAllowed,
    NoUsesLeft,
    PackageNotPaid,
    PackageNotUsable,
    SlotTaken,
    SlotUnavailable,
)
from bot.storage.models import Appointment, Invoice, PatientPackage, WorkingHours
from tests.booking_support import Ids, at, load_ids, wall

MONDAY, TUESDAY = date(2026, 11, 2), date(2026, 11, 3)


@pytest.fixture
async def ids(clinic, make_uow) -> Ids:
    async with make_uow() as uow:
        return await load_ids(uow)


async def book(make_uow, **booking) -> Appointment:
    async with make_uow() as uow:
        appointment = await appointments.book(uow, **booking)
        await uow.commit()
        return appointment


async def counters(make_uow, package_id: int) -> tuple[int, int, int]:
    """A package's (redeemed, booked, available), read in a fresh unit of work."""
    async with make_uow() as uow:
        pack = await packages.get_package(uow, package_id)
        return pack.redeemed, pack.booked, pack.available


async def count_appointments(make_uow) -> int:
    async with make_uow() as uow:
        return int(await uow.session.scalar(select(func.count(Appointment.id))) or 0)


async def offered(make_uow, ids: Ids, day: date, days: int = 1, **options) -> list[str]:
    async with make_uow() as uow:
        starts = await availability.offered_slots(
            uow, options.pop("practitioner", ids.ana), options.pop("location", ids.downtown),
            options.pop("fee", ids.physio_follow), day, days, **options,
        )
    return [wall(start) for start in starts]


# --- offered slots ---------------------------------------------------------------------------


async def test_offered_slots_follow_hours_notice_and_the_fees_length(ids, make_uow):
    patient = await offered(make_uow, ids, MONDAY)
    assert len(patient) == 27  # 08:00 now + 120 min notice: 10:00 ... 16:30 (a 30-min fee)
    assert patient[0] == "2026-11-02 10:00" and patient[-1] == "2026-11-02 16:30"
    staff = await offered(make_uow, ids, MONDAY, booked_by="staff")
    assert len(staff) == 31 and staff[0] == "2026-11-02 09:00"
    long_fee = await offered(make_uow, ids, TUESDAY, fee=ids.physio_initial)
    assert long_fee[-1] == "2026-11-03 16:00" and len(long_fee) == 29


async def test_offered_slots_skip_live_appointments_at_any_location(ids, make_uow, clock):
    async with make_uow() as uow:
        for status, hour in (("booked", 10), ("cancelled", 13)):
            uow.session.add(Appointment(
                patient_id=ids.sofia, practitioner_id=ids.ana, location_id=ids.east,
                fee_id=ids.physio_initial, starts_at=at(TUESDAY, hour),
                ends_at=at(TUESDAY, hour + 1), status=status, created_at=clock.now(),
            ))
        await uow.commit()
    starts = await offered(make_uow, ids, TUESDAY)
    assert len(starts) == 31 - 5
    for hidden in ("09:45", "10:00", "10:15", "10:30", "10:45"):
        assert f"2026-11-03 {hidden}" not in starts
    assert "2026-11-03 09:30" in starts and "2026-11-03 11:00" in starts
    assert "2026-11-03 13:00" in starts  # a cancelled appointment blocks nothing


async def test_an_appointment_not_yet_flushed_is_busy_too(ids, make_uow, clock):
    """busy_intervals reads past the session (a prebuilt statement): what the transaction
    added but did not flush yet counts, as a query through the session would see it."""
    async with make_uow() as uow:
        uow.session.add(Appointment(
            patient_id=ids.sofia, practitioner_id=ids.ana, location_id=ids.east,
            fee_id=ids.physio_initial, starts_at=at(TUESDAY, 10), ends_at=at(TUESDAY, 11),
            status="booked", created_at=clock.now()))
        busy = await availability.busy_intervals(
            uow, ids.ana, at(TUESDAY, 0), at(TUESDAY, 23))
        assert busy == [(at(TUESDAY, 10), at(TUESDAY, 11))]
        assert await availability.busy_intervals(
            uow, ids.ana, at(TUESDAY, 11), at(TUESDAY, 23)) == [], "touching is not busy"


async def test_offered_slots_stop_at_the_horizon_for_patients_only(ids, make_uow):
    patient = await offered(make_uow, ids, MONDAY, 40)
    assert patient[-1].startswith("2026-11-30")  # today + 28 days
    staff = await offered(make_uow, ids, MONDAY, 40, booked_by="staff")
    assert staff[-1].startswith("2026-12-10")


async def test_offered_slots_take_a_fixed_number_of_queries(ids, make_uow, engine):
    statements: list[str] = []

    def count(conn, cursor, statement, *args) -> None:
        statements.append(statement)

    async def queries() -> int:
        statements.clear()
        event.listen(engine.sync_engine, "before_cursor_execute", count)
        try:
            await offered(make_uow, ids, MONDAY, 14)
        finally:
            event.remove(engine.sync_engine, "before_cursor_execute", count)
        return len([s for s in statements if s.lstrip().upper().startswith("SELECT")])

    await queries()  # the first reads the clinic's set-up too (then shared: clinic_setup)
    empty = await queries()
    for offset in (1, 2, 3, 7, 8, 9, 10):  # Ana's downtown days
        await book(make_uow, patient_id=ids.sofia, practitioner_id=ids.ana,
                   location_id=ids.downtown, fee_id=ids.physio_follow,
                   starts_at=at(MONDAY + timedelta(days=offset), 11), package_id=None)
    assert await queries() == empty <= 2  # the clinic row, the busy times


async def test_allowed_pairs_follow_the_fee_and_the_package(ids, make_uow):
    async with make_uow() as uow:
        def names(pairs):
            return [(p.key, loc.key) for p, loc in pairs]

        assert names(await availability.allowed_pairs(uow, ids.physio_follow)) == [
            ("ana", "downtown"), ("ana", "east"),
        ]
        maya_pack = await package_scope.scope_of(uow, ids.maya_pack)
        assert names(await availability.allowed_pairs(uow, ids.physio_follow, maya_pack)) == [
            ("ana", "downtown"),
        ]
        assert await availability.allowed_pairs(uow, ids.physio_initial, maya_pack) == []
        leo_pack = await package_scope.scope_of(uow, ids.leo_pack)  # any practitioner, location
        assert names(await availability.allowed_pairs(uow, ids.massage, leo_pack)) == [
            ("ben", "east"),
        ]


# --- booking and its package -------------------------------------------------------------------


async def test_booking_reserves_the_preselected_package_use(ids, make_uow):
    appointment = await book(
        make_uow, patient_id=ids.maya, practitioner_id=ids.ana, location_id=ids.downtown,
        fee_id=ids.physio_follow, starts_at=at(TUESDAY, 10),
    )
    async with make_uow() as uow:
        stored = await appointments.get_appointment(uow, appointment.id)
        assert (stored.status, stored.booked_by) == ("booked", "patient")
        assert stored.starts_at == at(TUESDAY, 10) and wall(stored.ends_at) == "2026-11-03 10:30"
        assert (stored.package_id, stored.package_use) == (ids.maya_pack, "reserved")
    assert await counters(make_uow, ids.maya_pack) == (2, 1, 2)


async def test_declining_the_package_books_without_it(ids, make_uow):
    appointment = await book(
        make_uow, patient_id=ids.maya, practitioner_id=ids.ana, location_id=ids.downtown,
        fee_id=ids.physio_follow, starts_at=at(TUESDAY, 10), package_id=None,
    )
    assert appointment.package_id is None
    assert await counters(make_uow, ids.maya_pack) == (2, 0, 3)


async def _sell_paid(make_uow, patient_id: int, template: str, day: date) -> int:
    async with make_uow() as uow:
        sold = await packages.sell_package(uow, patient_id, template, purchased_on=day)
        invoice = await uow.session.scalar(select(Invoice).where(Invoice.package_id == sold.id))
        assert invoice is not None
        await billing.record_payment(uow, invoice.id, invoice.amount)
        await uow.commit()
        return sold.id


async def test_auto_picks_the_applicable_package_with_the_earliest_expiry(ids, make_uow):
    no_expiry = await _sell_paid(make_uow, ids.maya, "insurer-physio-6", MONDAY)
    later = await _sell_paid(make_uow, ids.maya, "physio-5", MONDAY)  # expires 2027-05-01
    chosen = []
    for offset in range(5):
        appointment = await book(
            make_uow, patient_id=ids.maya, practitioner_id=ids.ana, location_id=ids.downtown,
            fee_id=ids.physio_follow, starts_at=at(TUESDAY, 10 + offset),
        )
        chosen.append(appointment.package_id)
    # The imported pack (expires 2027-03-30) has 3 uses, then the later one; no expiry last.
    assert chosen == [ids.maya_pack] * 3 + [later] * 2
    appointment = await book(
        make_uow, patient_id=ids.maya, practitioner_id=ids.ana, location_id=ids.east,
        fee_id=ids.physio_follow, starts_at=at("2026-11-06", 11),
    )
    assert appointment.package_id == no_expiry  # the physio-5s do not cover the east location


async def test_auto_books_without_a_package_when_none_applies(ids, make_uow):
    appointment = await book(
        make_uow, patient_id=ids.maya, practitioner_id=ids.ana, location_id=ids.downtown,
        fee_id=ids.physio_initial, starts_at=at(TUESDAY, 10),
    )
    assert appointment.package_id is None
    assert await counters(make_uow, ids.maya_pack) == (2, 0, 3)


@pytest.mark.parametrize(
    ("case", "error"),
    [
        ("unpaid", PackageNotPaid),
        ("someone_elses", NotAllowed),
        ("wrong_fee", PackageNotUsable),
        ("wrong_location", PackageNotUsable),
        ("no_uses_left", NoUsesLeft),
    ],
)
async def test_a_chosen_package_that_cannot_cover_the_booking_is_refused(
    ids, make_uow, case, error
):
    booking = dict(
        patient_id=ids.maya, practitioner_id=ids.ana, location_id=ids.downtown,
        fee_id=ids.physio_follow, starts_at=at(TUESDAY, 10), package_id=ids.maya_pack,
    )
    async with make_uow() as uow:
        if case == "unpaid":
            sold = await packages.sell_package(uow, ids.maya, "physio-5")
            booking["package_id"] = sold.id
        elif case == "someone_elses":
            booking["patient_id"] = ids.sofia
        elif case == "wrong_fee":
            booking["fee_id"] = ids.physio_initial
        elif case == "wrong_location":
            booking.update(location_id=ids.east, starts_at=at("2026-11-06", 11))
        else:
            await uow.session.execute(
                update(PatientPackage).where(PatientPackage.id == ids.maya_pack)
                .values(redeemed=5, available=0)
            )
        before = await uow.session.scalar(select(func.count(Appointment.id)))
        with pytest.raises(error) as refused:
            await appointments.book(uow, **booking)
        assert refused.value.message
        # Nothing was written, and the unit of work is still usable.
        assert await uow.session.scalar(select(func.count(Appointment.id))) == before
        again = await appointments.book(uow, **{**booking, "package_id": None})
        assert again.package_id is None
        await uow.commit()
    assert await count_appointments(make_uow) == 1


# --- when a booking is possible --------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "booked_by", "error", "words"),
    [
        ({"practitioner_id": "ben"}, "staff", InvalidInput, "does not offer"),
        ({"starts_at": at("2026-11-06", 10)}, "staff", SlotUnavailable, "outside their hours"),
        ({"starts_at": at(TUESDAY, 10, 5)}, "staff", SlotUnavailable, "offered start times"),
        ({"starts_at": at(TUESDAY, 16, 45)}, "staff", SlotUnavailable, "outside their hours"),
        ({"starts_at": at(TUESDAY, 8, 30)}, "staff", SlotUnavailable, "outside their hours"),
        ({"starts_at": at(MONDAY, 9, 45)}, "patient", SlotUnavailable, "120 minutes ahead"),
        ({"starts_at": at("2026-12-01", 10)}, "patient", SlotUnavailable, "28 days ahead"),
        ({"starts_at": at(MONDAY, 7)}, "staff", SlotUnavailable, "already passed"),
    ],
)
async def test_bookings_outside_what_is_offered_are_refused(
    ids, make_uow, change, booked_by, error, words
):
    booking = dict(
        patient_id=ids.sofia, practitioner_id=ids.ana, location_id=ids.downtown,
        fee_id=ids.physio_follow, starts_at=at(TUESDAY, 10), booked_by=booked_by,
    )
    booking.update({k: getattr(ids, v) if isinstance(v, str) else v for k, v in change.items()})
    with pytest.raises(error, match=words):
        await book(make_uow, **booking)
    assert await count_appointments(make_uow) == 0


async def test_staff_may_book_inside_the_notice_and_beyond_the_horizon(ids, make_uow):
    for starts_at in (at(MONDAY, 9, 45), at("2026-12-01", 10)):
        appointment = await book(
            make_uow, patient_id=ids.sofia, practitioner_id=ids.ana, location_id=ids.downtown,
            fee_id=ids.physio_follow, starts_at=starts_at, booked_by="staff",
        )
        assert appointment.booked_by == "staff"
    assert await count_appointments(make_uow) == 2


async def test_two_bookings_of_one_practitioner_never_overlap(ids, make_uow):
    base = dict(patient_id=ids.sofia, practitioner_id=ids.ana, location_id=ids.downtown,
                booked_by="staff", package_id=None)
    await book(make_uow, **base, fee_id=ids.physio_initial, starts_at=at(TUESDAY, 10))
    for hour, minute in ((9, 45), (10, 0), (10, 30)):
        with pytest.raises(SlotTaken, match="already booked"):
            await book(make_uow, **base, fee_id=ids.physio_follow,
                       starts_at=at(TUESDAY, hour, minute))
    # Touching is not overlapping.
    await book(make_uow, **base, fee_id=ids.physio_follow, starts_at=at(TUESDAY, 9, 30))
    await book(make_uow, **base, fee_id=ids.physio_follow, starts_at=at(TUESDAY, 11))
    assert await count_appointments(make_uow) == 3


async def test_a_booking_at_one_location_makes_the_practitioner_busy_at_all(ids, make_uow):
    async with make_uow() as uow:  # Ana also works at the east location on Tuesday mornings
        uow.session.add(WorkingHours(practitioner_id=ids.ana, location_id=ids.east,
                                     weekday=1, start=time(7), end=time(12)))
        await uow.commit()
    await book(make_uow, patient_id=ids.sofia, practitioner_id=ids.ana, location_id=ids.east,
               fee_id=ids.physio_initial, starts_at=at(TUESDAY, 10))
    with pytest.raises(SlotTaken):
        await book(make_uow, patient_id=ids.maya, practitioner_id=ids.ana,
                   location_id=ids.downtown, fee_id=ids.physio_follow,
                   starts_at=at(TUESDAY, 10, 30))
    downtown = await offered(make_uow, ids, TUESDAY)
    assert "2026-11-03 09:30" in downtown and "2026-11-03 11:00" in downtown
    assert "2026-11-03 09:45" not in downtown and "2026-11-03 10:45" not in downtown
    assert await count_appointments(make_uow) == 1


async def test_a_cancelled_booking_frees_its_slot(ids, make_uow):
    booking = dict(patient_id=ids.sofia, practitioner_id=ids.ana, location_id=ids.downtown,
                   fee_id=ids.physio_follow, starts_at=at(TUESDAY, 10))
    first = await book(make_uow, **booking)
    with pytest.raises(SlotTaken):
        await book(make_uow, **{**booking, "patient_id": ids.maya})
    async with make_uow() as uow:
        await appointments.cancel(uow, first.id, by="staff")
        await uow.commit()
    second = await book(make_uow, **{**booking, "patient_id": ids.maya})
    assert second.id != first.id and second.package_id == ids.maya_pack
