"""Real races on both databases (RULES.md 3, 20): bookings and package uses under contention.

Each competitor has its own unit of work, so its own connection and transaction: tasks on one
event loop, and separate OS processes running ``tests/booking_support.py``. On PostgreSQL the
tasks first open their transactions and wait at a barrier, so all of them are inside a
transaction when the first one books; on SQLite they cannot (a write transaction is
``BEGIN IMMEDIATE``, so the barrier would wait on the lock), and they start together instead.
No retry on "database is locked" is needed or done: SQLite's busy timeout (30 s) queues the
writers, and every test here would fail loudly if one gave up.
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import date, time
from itertools import pairwise
from pathlib import Path

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.orm import selectinload

from bot.services import appointments, availability, packages
from bot.services.clinic import get_clinic
from bot.services.errors import NoUsesLeft, SlotTaken
from bot.storage.models import Appointment, Fee, PatientPackage, Practitioner, WorkingHours
from tests.booking_support import Ids, at, job, load_ids, wall

MONDAY = date(2026, 11, 9)  # Ben works at the east location 08:00-14:00 on Mondays
TUESDAY = date(2026, 11, 3)  # Ana works downtown 09:00-17:00
ROOT = Path(__file__).resolve().parents[2]
TASKS = 20
PROCESSES = 6
TIMEOUT = 120  # seconds for any one race: a hang fails the test instead of stalling it


@pytest.fixture
async def ids(clinic, make_uow) -> Ids:
    async with make_uow() as uow:
        return await load_ids(uow)


async def race(make_uow, bookings: list[dict]) -> list[object]:
    """Book each of ``bookings`` in its own unit of work, all at once; results or errors."""
    barrier = asyncio.Barrier(len(bookings))

    async def compete(booking: dict) -> object:
        async with make_uow() as uow:
            if uow.dialect == "postgresql":
                await get_clinic(uow)  # the transaction is open before anyone books
            await barrier.wait()
            appointment = await appointments.book(uow, **booking)
            await uow.commit()
            return appointment.id

    return await asyncio.wait_for(
        asyncio.gather(*(compete(b) for b in bookings), return_exceptions=True), TIMEOUT
    )


def outcomes(results: list[object]) -> tuple[list[int], list[str]]:
    won = [r for r in results if isinstance(r, int)]
    lost = [getattr(r, "code", repr(r)) for r in results if not isinstance(r, int)]
    return won, lost


async def live_appointments(make_uow) -> list[Appointment]:
    async with make_uow() as uow:
        rows = await uow.session.scalars(
            select(Appointment).where(Appointment.status != "cancelled")
            .order_by(Appointment.practitioner_id, Appointment.starts_at)
        )
        found = list(rows)
        uow.session.expunge_all()  # keep them readable after the unit of work ends
        return found


def assert_no_overlap(rows: list[Appointment]) -> None:
    for a, b in pairwise(rows):
        if a.practitioner_id == b.practitioner_id:
            assert a.ends_at <= b.starts_at, f"{a.id} and {b.id} overlap"


async def drop_exclusion_constraint(make_uow) -> None:
    """Leave only the lock to keep bookings apart (PostgreSQL; SQLite has no constraint)."""
    async with make_uow() as uow:
        if uow.dialect == "postgresql":
            await uow.session.execute(
                text("ALTER TABLE appointment DROP CONSTRAINT appointment_no_overlap")
            )
            await uow.commit()


async def fill_ben_but_one(make_uow, ids: Ids) -> None:
    for hour in (8, 9, 10, 11, 12):
        async with make_uow() as uow:
            await appointments.book(
                uow, patient_id=ids.maya, practitioner_id=ids.ben, location_id=ids.east,
                fee_id=ids.massage, starts_at=at(MONDAY, hour), booked_by="staff",
            )
            await uow.commit()
    async with make_uow() as uow:
        last = await availability.offered_slots(uow, ids.ben, ids.east, ids.massage, MONDAY, 1)
    assert [wall(s) for s in last] == ["2026-11-09 13:00"]


async def more_massage_therapists(make_uow, ids: Ids, count: int) -> list[int]:
    """Practitioners who, like Ben, give the 60-minute massage at east on Mondays 08-14."""
    async with make_uow() as uow:
        fee = await uow.session.get(Fee, ids.massage, options=[selectinload(Fee.practitioners)])
        assert fee is not None
        added = []
        for number in range(count):
            therapist = Practitioner(key=f"rmt-{number}", name=f"Therapist {number}")
            therapist.hours = [WorkingHours(location_id=ids.east, weekday=0,
                                            start=time(8), end=time(14))]
            fee.practitioners.append(therapist)
            added.append(therapist)
        await uow.session.flush()
        await uow.commit()
        return [ids.ben, *(t.id for t in added)]


async def one_use_left(make_uow, ids: Ids) -> None:
    async with make_uow() as uow:
        await uow.session.execute(
            update(PatientPackage).where(PatientPackage.id == ids.leo_pack)
            .values(redeemed=9, booked=0, available=1)
        )
        await uow.commit()


async def counters(make_uow, package_id: int) -> tuple[int, int, int]:
    async with make_uow() as uow:
        pack = await packages.get_package(uow, package_id)
        return pack.redeemed, pack.booked, pack.available


# --- tasks on one event loop -------------------------------------------------------------------


async def test_twenty_patients_race_for_the_last_free_slot(ids, make_uow):
    await fill_ben_but_one(make_uow, ids)
    patients = [ids.maya, ids.leo, ids.sofia]
    results = await race(make_uow, [
        dict(patient_id=patients[i % 3], practitioner_id=ids.ben, location_id=ids.east,
             fee_id=ids.massage, starts_at=at(MONDAY, 13), package_id=None)
        for i in range(TASKS)
    ])
    won, lost = outcomes(results)
    assert len(won) == 1 and lost == ["slot_taken"] * (TASKS - 1)
    rows = await live_appointments(make_uow)
    assert len(rows) == 6 and rows[-1].id == won[0]
    assert_no_overlap(rows)


async def test_the_lock_alone_keeps_overlapping_starts_apart(ids, make_uow):
    await drop_exclusion_constraint(make_uow)
    results = await race(make_uow, [
        dict(patient_id=ids.sofia, practitioner_id=ids.ana, location_id=ids.downtown,
             fee_id=ids.physio_initial, starts_at=at(TUESDAY, 10, 15 * (i % 4)),
             package_id=None)
        for i in range(TASKS)
    ])  # 10:00, 10:15, 10:30, 10:45 for an hour each: any two overlap
    won, lost = outcomes(results)
    assert len(won) == 1 and lost == ["slot_taken"] * (TASKS - 1)
    rows = await live_appointments(make_uow)
    assert [r.id for r in rows] == won


async def test_one_package_use_goes_to_exactly_one_booking(ids, make_uow):
    therapists = await more_massage_therapists(make_uow, ids, 9)
    await one_use_left(make_uow, ids)
    results = await race(make_uow, [
        dict(patient_id=ids.leo, practitioner_id=therapist, location_id=ids.east,
             fee_id=ids.massage, starts_at=at(MONDAY, 8 + n % 6), package_id=ids.leo_pack)
        for n, therapist in enumerate(therapists)  # only the package is shared
    ])
    won, lost = outcomes(results)
    assert len(won) == 1 and lost == ["no_uses_left"] * (len(therapists) - 1)
    assert all(isinstance(r, NoUsesLeft) for r in results if not isinstance(r, int))
    assert await counters(make_uow, ids.leo_pack) == (9, 1, 0)
    rows = await live_appointments(make_uow)  # the losers left nothing behind
    assert [(r.id, r.package_id, r.package_use) for r in rows] == [
        (won[0], ids.leo_pack, "reserved"),
    ]


async def test_a_row_the_check_cannot_see_is_still_refused_by_postgres(ids, make_uow, clock):
    """The exclusion constraint backs the lock up, and its violation is SlotTaken."""
    async with make_uow() as uow:
        if uow.dialect != "postgresql":
            pytest.skip("only PostgreSQL has the exclusion constraint")
        # Longer than the check's look-back (a day): invisible to it, not to the constraint.
        uow.session.add(Appointment(
            patient_id=ids.sofia, practitioner_id=ids.ana, location_id=ids.downtown,
            fee_id=ids.physio_initial, starts_at=at("2026-11-01", 9),
            ends_at=at(TUESDAY, 12), status="booked", created_at=clock.now(),
        ))
        await uow.commit()
    async with make_uow() as uow:
        with pytest.raises(SlotTaken, match="just taken"):
            await appointments.book(
                uow, patient_id=ids.maya, practitioner_id=ids.ana, location_id=ids.downtown,
                fee_id=ids.physio_follow, starts_at=at(TUESDAY, 10),
            )
        # The unit of work is still usable: the savepoint took the failed insert away.
        later = await appointments.book(
            uow, patient_id=ids.maya, practitioner_id=ids.ana, location_id=ids.downtown,
            fee_id=ids.physio_follow, starts_at=at(TUESDAY, 13),
        )
        await uow.commit()
    assert await counters(make_uow, ids.maya_pack) == (2, 1, 2)
    assert len(await live_appointments(make_uow)) == 2 and later.package_id == ids.maya_pack


# --- separate OS processes ---------------------------------------------------------------------


async def race_processes(database_url: str, now, bookings: list[dict]) -> list[dict]:
    """Run one booker process per booking; start them together; their JSON answers."""
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.booking_support", job(database_url, now, **booking),
            cwd=ROOT, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        )
        for booking in bookings
    ]
    try:
        for proc in procs:  # every process is connected before any books
            assert proc.stdout is not None
            line = await asyncio.wait_for(proc.stdout.readline(), TIMEOUT)
            assert line.strip() == b"ready", line
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write(b"go\n")
        answers = await asyncio.wait_for(
            asyncio.gather(*(proc.communicate() for proc in procs)), TIMEOUT
        )
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    assert [proc.returncode for proc in procs] == [0] * len(procs)
    return [json.loads(out.decode().strip().splitlines()[-1]) for out, _ in answers]


async def test_processes_race_for_one_slot(ids, make_uow, database_url, clock):
    answers = await race_processes(database_url, clock.now(), [
        dict(patient_id=patient, practitioner_id=ids.ben, location_id=ids.east,
             fee_id=ids.massage, starts_at=at(MONDAY, 10, 15 * (n % 3)), package_id=None)
        for n, patient in enumerate([ids.maya, ids.sofia, ids.leo] * (PROCESSES // 3))
    ])
    booked = [a["booked"] for a in answers if "booked" in a]
    assert len(booked) == 1
    assert [a for a in answers if "booked" not in a] == [{"refused": "slot_taken"}] * (
        PROCESSES - 1
    )
    assert [r.id for r in await live_appointments(make_uow)] == booked


async def test_processes_race_for_one_package_use(ids, make_uow, database_url, clock):
    therapists = await more_massage_therapists(make_uow, ids, PROCESSES - 1)
    await one_use_left(make_uow, ids)
    answers = await race_processes(database_url, clock.now(), [
        dict(patient_id=ids.leo, practitioner_id=therapist, location_id=ids.east,
             fee_id=ids.massage, starts_at=at(MONDAY, 8 + n), package_id=ids.leo_pack)
        for n, therapist in enumerate(therapists)
    ])
    booked = [a["booked"] for a in answers if "booked" in a]
    assert len(booked) == 1
    assert sorted(a.get("refused", "") for a in answers) == [""] + ["no_uses_left"] * (
        PROCESSES - 1
    )
    assert await counters(make_uow, ids.leo_pack) == (9, 1, 0)
    async with make_uow() as uow:
        assert await uow.session.scalar(select(func.count(Appointment.id))) == 1
