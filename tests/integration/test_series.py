"""A package's remaining sessions booked as a series (issue 19), on both databases.

The clock is Monday 2 November 2026, 08:00 in Toronto. Maya's Physio 5-pack has 3 uses
available (Ana at downtown, Mon-Thu 09:00-17:00); a follow-up is 30 minutes.
"""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from bot.services import accounts, appointments, closures, series
from bot.services.clinic import get_clinic
from bot.services.errors import DomainError, InvalidInput, TooLateToCancel
from bot.storage.models import Appointment, AppointmentSeries
from tests.booking_support import Ids, at, load_ids, wall
from tests.integration._builders import counters
from tests.integration.test_races import TIMEOUT, assert_no_overlap, live_appointments


@pytest.fixture
async def ids(clinic, make_uow) -> Ids:
    async with make_uow() as uow:
        return await load_ids(uow)


def plan(ids: Ids, first, every_days: int = 7, **extra) -> dict:
    return dict(package_id=ids.maya_pack, practitioner_id=ids.ana, location_id=ids.downtown,
                fee_id=ids.physio_follow, first_start=first, every_days=every_days, **extra)


async def propose(make_uow, ids: Ids, first, every_days: int = 7, **extra):
    async with make_uow() as uow:
        return await series.propose(uow, **plan(ids, first, every_days, **extra))


async def book(make_uow, proposal, booked_by="patient") -> int:
    async with make_uow() as uow:
        made = await series.book_series(
            uow, package_id=proposal.package_id, practitioner_id=proposal.practitioner_id,
            location_id=proposal.location_id, fee_id=proposal.fee_id,
            every_days=proposal.every_days, starts=proposal.starts, booked_by=booked_by,
        )
        await uow.commit()
        return made.id


async def single(make_uow, ids: Ids, starts_at, patient: int | None = None) -> int:
    async with make_uow() as uow:
        made = await appointments.book(
            uow, patient_id=patient or ids.sofia, practitioner_id=ids.ana,
            location_id=ids.downtown, fee_id=ids.physio_follow, starts_at=starts_at,
            package_id=None, booked_by="staff",
        )
        await uow.commit()
        return made.id


async def pack_counters(make_uow, ids: Ids) -> tuple[int, int, int, int]:
    async with make_uow() as uow:
        return await counters(uow, ids.maya_pack)


async def test_weekly_series_books_every_remaining_use(make_uow, ids):
    proposal = await propose(make_uow, ids, at("2026-11-03", 10))
    assert [wall(o.starts_at) for o in proposal.occurrences] == [
        "2026-11-03 10:00", "2026-11-10 10:00", "2026-11-17 10:00"]
    assert not any(o.moved for o in proposal.occurrences)
    assert await pack_counters(make_uow, ids) == (5, 2, 0, 3), "proposing books nothing"
    series_id = await book(make_uow, proposal)
    async with make_uow() as uow:
        booked = await series.series_appointments(uow, series_id)
        assert [wall(a.starts_at) for a in booked] == [wall(s) for s in proposal.starts]
        assert {(a.package_id, a.package_use, a.status) for a in booked} == {
            (ids.maya_pack, "reserved", "booked")}
        row = await uow.session.get(AppointmentSeries, series_id)
        assert (row.package_id, row.patient_id, row.every_days) == (ids.maya_pack, ids.maya, 7)
    assert await pack_counters(make_uow, ids) == (5, 2, 3, 0)


async def test_a_taken_time_gets_the_nearest_free_one_and_nothing_is_booked(make_uow, ids):
    await single(make_uow, ids, at("2026-11-10", 10))
    proposal = await propose(make_uow, ids, at("2026-11-03", 10), count=2)
    assert [(wall(o.wanted), wall(o.starts_at), o.moved) for o in proposal.occurrences] == [
        ("2026-11-03 10:00", "2026-11-03 10:00", False),
        ("2026-11-10 10:00", "2026-11-10 09:30", True),
    ]
    assert await pack_counters(make_uow, ids) == (5, 2, 0, 3)


async def test_a_day_off_moves_to_a_near_day_clear_of_the_other_sessions(make_uow, ids):
    # every 2 days from Thu 5 Nov: Sat 7 Nov Ana is not downtown, nor Fri 6 or Sun 8; Thu 5
    # and Mon 9 have sessions already, so three days on: Tue 10 Nov at the same time
    proposal = await propose(make_uow, ids, at("2026-11-05", 10), every_days=2)
    assert [wall(o.starts_at) for o in proposal.occurrences] == [
        "2026-11-05 10:00", "2026-11-09 10:00", "2026-11-10 10:00"]
    assert [o.moved for o in proposal.occurrences] == [False, False, True]


async def test_a_closure_is_never_proposed(make_uow, ids):
    async with make_uow() as uow:
        await closures.add(uow, starts_at=at("2026-11-10", 0), ends_at=at("2026-11-11", 0),
                           reason="training")
        await uow.commit()
    proposal = await propose(make_uow, ids, at("2026-11-03", 10))
    assert [wall(s) for s in proposal.starts] == [
        "2026-11-03 10:00", "2026-11-11 10:00", "2026-11-17 10:00"]


async def test_the_expiry_and_the_horizon_end_the_series(make_uow, ids):
    # the patients' horizon is 28 days: four weekly sessions would reach 1 December
    proposal = await propose(make_uow, ids, at("2026-11-24", 10), every_days=14)
    assert [wall(s) for s in proposal.starts] == ["2026-11-24 10:00"]
    staff = await propose(make_uow, ids, at("2027-03-16", 10), booked_by="staff")
    assert [wall(s) for s in staff.starts] == ["2027-03-16 10:00", "2027-03-23 10:00",
                                                "2027-03-30 10:00"]
    late = await propose(make_uow, ids, at("2027-03-23", 10), booked_by="staff")
    assert [wall(s) for s in late.starts] == ["2027-03-23 10:00", "2027-03-30 10:00"]


async def test_bad_rhythm_is_refused(make_uow, ids):
    with pytest.raises(InvalidInput):
        await propose(make_uow, ids, at("2026-11-03", 10), every_days=0)


async def test_a_time_taken_after_the_proposal_books_nothing(make_uow, ids):
    proposal = await propose(make_uow, ids, at("2026-11-03", 10))
    await single(make_uow, ids, at("2026-11-17", 10))
    with pytest.raises(series.SeriesChanged):
        await book(make_uow, proposal)
    assert await pack_counters(make_uow, ids) == (5, 2, 0, 3)
    async with make_uow() as uow:
        assert await uow.session.scalar(select(func.count()).select_from(AppointmentSeries)) == 0
        assert await uow.session.scalar(
            select(func.count()).select_from(Appointment)
            .where(Appointment.patient_id == ids.maya)) == 0
    fresh = await propose(make_uow, ids, at("2026-11-03", 10))
    assert [o.moved for o in fresh.occurrences] == [False, False, True]
    await book(make_uow, fresh)
    assert await pack_counters(make_uow, ids) == (5, 2, 3, 0)


async def test_cancel_one_returns_one_use_and_the_rest_returns_them_all(make_uow, ids):
    series_id = await book(make_uow, await propose(make_uow, ids, at("2026-11-03", 10)))
    async with make_uow() as uow:
        first, second, third = await series.series_appointments(uow, series_id)
        await appointments.cancel(uow, first.id, by="patient", acting_patient_id=ids.maya)
        await uow.commit()
    assert await pack_counters(make_uow, ids) == (5, 2, 2, 1)
    async with make_uow() as uow:
        done = await series.cancel_rest(uow, second.id, by="patient",
                                        acting_patient_id=ids.maya)
        await uow.commit()
    assert [a.id for a in done] == [second.id, third.id]
    assert await pack_counters(make_uow, ids) == (5, 2, 0, 3)


async def test_cancelling_the_rest_too_late_changes_nothing(make_uow, ids, clock):
    series_id = await book(make_uow, await propose(make_uow, ids, at("2026-11-03", 10)))
    clock.set(at("2026-11-02", 12))  # 22 hours before the first: inside the 24-hour notice
    async with make_uow() as uow:
        first = (await series.series_appointments(uow, series_id))[0]
        with pytest.raises(TooLateToCancel):
            await series.cancel_rest(uow, first.id, by="patient", acting_patient_id=ids.maya)
        await uow.commit()
    assert await pack_counters(make_uow, ids) == (5, 2, 3, 0)
    async with make_uow() as uow:
        await series.cancel_rest(uow, first.id, by="staff")
        await uow.commit()
    assert await pack_counters(make_uow, ids) == (5, 2, 0, 3)


async def _together(make_uow, barrier: asyncio.Barrier, work) -> object:
    """Run ``work(uow)`` in its own unit of work, all competitors at once (on PostgreSQL each
    opens its transaction before the barrier; SQLite's BEGIN IMMEDIATE would wait on the lock,
    so there they start together instead); the result, or the refusal."""
    try:
        async with make_uow() as uow:
            if uow.dialect == "postgresql":
                await get_clinic(uow)
            await barrier.wait()
            result = await work(uow)
            await uow.commit()
            return result
    except DomainError as exc:  # the loser's refusal is the result under test
        return exc


def _series_task(make_uow, barrier, proposal):
    async def work(uow):
        made = await series.book_series(
            uow, package_id=proposal.package_id, practitioner_id=proposal.practitioner_id,
            location_id=proposal.location_id, fee_id=proposal.fee_id,
            every_days=proposal.every_days, starts=proposal.starts, booked_by="patient")
        return ("series", made.id)

    return _together(make_uow, barrier, work)


def _single_task(make_uow, barrier, ids: Ids, starts_at, patient: int | None = None,
                 package: int | None = None):
    async def work(uow):
        made = await appointments.book(
            uow, patient_id=patient or ids.sofia, practitioner_id=ids.ana,
            location_id=ids.downtown, fee_id=ids.physio_follow, starts_at=starts_at,
            package_id=package, booked_by="staff")
        return ("single", made.id)

    return _together(make_uow, barrier, work)


@pytest.mark.parametrize("round_", range(3))
async def test_race_series_against_single_bookings_into_the_same_times(make_uow, ids, round_):
    proposal = await propose(make_uow, ids, at("2026-11-03", 10))
    barrier = asyncio.Barrier(1 + len(proposal.starts[round_:]))
    singles = [_single_task(make_uow, barrier, ids, s) for s in proposal.starts[round_:]]
    tasks = [*singles[:1], _series_task(make_uow, barrier, proposal), *singles[1:]]
    results = await asyncio.wait_for(asyncio.gather(*tasks), TIMEOUT)
    won_series = any(isinstance(r, tuple) and r[0] == "series" for r in results)
    won_singles = [r for r in results if isinstance(r, tuple) and r[0] == "single"]
    rows = await live_appointments(make_uow)
    assert_no_overlap(rows)
    mayas = [a for a in rows if a.patient_id == ids.maya]
    if won_series:
        assert not won_singles and len(mayas) == 3
        assert await pack_counters(make_uow, ids) == (5, 2, 3, 0)
    else:
        assert mayas == [] and won_singles
        assert await pack_counters(make_uow, ids) == (5, 2, 0, 3)


async def test_race_two_series_and_singles_on_one_package_never_over_redeem(make_uow, ids):
    one = await propose(make_uow, ids, at("2026-11-03", 10))
    other = await propose(make_uow, ids, at("2026-11-04", 14), every_days=3)
    barrier = asyncio.Barrier(4)
    tasks = [
        _series_task(make_uow, barrier, one),
        _single_task(make_uow, barrier, ids, at("2026-11-05", 9), ids.maya, ids.maya_pack),
        _series_task(make_uow, barrier, other),
        _single_task(make_uow, barrier, ids, at("2026-11-05", 11), ids.maya, ids.maya_pack),
    ]
    results = await asyncio.wait_for(asyncio.gather(*tasks), TIMEOUT)
    assert any(isinstance(r, tuple) for r in results), results
    rows = await live_appointments(make_uow)
    assert_no_overlap(rows)
    covered = [a for a in rows if a.package_id == ids.maya_pack]
    uses, redeemed, booked, available = await pack_counters(make_uow, ids)
    assert booked == len(covered) <= 3 and available == 3 - booked and redeemed == 2
    assert uses == 5
    by_series: dict[int | None, int] = {}
    for a in covered:
        by_series[a.series_id] = by_series.get(a.series_id, 0) + 1
    assert all(n == 3 for key, n in by_series.items() if key is not None), "whole or nothing"


async def test_a_merge_moves_the_series_with_its_appointments(make_uow, ids):
    series_id = await book(make_uow, await propose(make_uow, ids, at("2026-11-03", 10)))
    async with make_uow() as uow:
        result = await accounts.merge(uow, ids.sofia, ids.maya, by="desk")
        await uow.commit()
    assert result.moved["appointment_series"] == 1 and result.moved["appointment"] == 3
    async with make_uow() as uow:
        row = await uow.session.get(AppointmentSeries, series_id)
        assert row.patient_id == ids.sofia
        assert {a.patient_id for a in await series.series_appointments(uow, series_id)} == {
            ids.sofia}
