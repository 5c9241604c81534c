"""Closures and time off (issue 16 item 11, RULES.md 20) on both databases.

The clock is Monday 2 November 2026, 08:00 in Toronto. Ana works Downtown Mon-Thu 9-17 and
at East End on Fridays 10-16; Ben at East End Mon/Wed/Fri/Sat 8-14. The set-up file's closures
are exactly the file's (a reload changes nothing, one it drops goes, the desk's stay); nothing
is offered or booked in closed time; adding one over bookings lists them, and each patient is
told once, in their language.
"""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from bot.i18n import translator
from bot.services import appointments, availability, closures
from bot.services.clinic import get_clinic
from bot.services.errors import ClosedThen
from bot.storage.models import Appointment, Closure, OutboxMessage, Patient
from tests.booking_support import Ids, at, load_ids, wall
from tests.integration.test_load import EXAMPLE, load, snapshot

WEDNESDAY = date(2026, 11, 4)
THURSDAY = date(2026, 11, 5)
FRIDAY = date(2026, 11, 6)
CLOSED = EXAMPLE + '''
[[closures]]
from = "2026-11-11"
reason = "Remembrance Day"

[[closures]]
from = "2026-11-06 13:00"
to = "2026-11-06 16:00"
locations = ["east"]

[[time_off]]
practitioner = "ana"
from = 2026-11-04
to = "2026-11-05"
reason = "Course"
'''


@pytest.fixture
async def ids(clinic, make_uow) -> Ids:
    async with make_uow() as uow:
        return await load_ids(uow)


async def rows(make_uow) -> list[tuple[object, ...]]:
    async with make_uow() as uow:
        found = await uow.session.scalars(select(Closure).order_by(Closure.id))
        return [(c.practitioner_id, c.location_id, wall(c.starts_at), wall(c.ends_at), c.reason,
                 c.source) for c in found]


async def slots(make_uow, practitioner: int, location: int, fee: int, day: date,
                booked_by: str = "patient") -> list[str]:
    async with make_uow(readonly=True) as uow:
        found = await availability.offered_slots(uow, practitioner, location, fee, day, 1,
                                                 booked_by=booked_by)
        return [wall(moment)[11:] for moment in found]


async def close(make_uow, start, end=None, **kwargs) -> tuple[list[int], list[int]]:
    async with make_uow() as uow:
        tz = (await closures.clinic_zone(uow))
        starts_at, ends_at = closures.span(start, end, tz)
        added, booked = await closures.add(uow, starts_at=starts_at, ends_at=ends_at, **kwargs)
        await uow.commit()
        return [c.id for c in added], [a.id for a in booked]


async def book(make_uow, ids: Ids, patient: int, starts, *, ben: bool = False) -> int:
    async with make_uow() as uow:
        appointment = await appointments.book(
            uow, patient_id=patient, practitioner_id=ids.ben if ben else ids.ana,
            location_id=ids.east if ben else ids.downtown,
            fee_id=ids.massage if ben else ids.physio_follow, starts_at=starts,
            booked_by="staff", package_id=None,
        )
        await uow.commit()
        return appointment.id


async def test_the_file_loads_closures_and_a_reload_changes_nothing(ids, make_uow):
    summary = await load(make_uow, CLOSED)
    assert vars(summary.sections["closures"]) == {
        "created": 2, "updated": 0, "unchanged": 0, "removed": 0}
    assert summary.sections["time_off"].created == 1
    assert await rows(make_uow) == [
        (None, None, "2026-11-11 00:00", "2026-11-12 00:00", "Remembrance Day", "file"),
        (None, ids.east, "2026-11-06 13:00", "2026-11-06 16:00", None, "file"),
        (ids.ana, None, "2026-11-04 00:00", "2026-11-06 00:00", "Course", "file"),
    ]
    before = await snapshot(make_uow)
    again = await load(make_uow, CLOSED)
    assert not again.changed and again.sections["closures"].unchanged == 2
    assert await snapshot(make_uow) == before


async def test_the_file_takes_back_only_its_own_closures(ids, make_uow):
    await load(make_uow, CLOSED)
    await close(make_uow, date(2026, 11, 12), reason="Flood")
    renamed = CLOSED.replace('reason = "Course"', 'reason = "Conference"')
    summary = await load(make_uow, renamed)
    assert summary.sections["time_off"].updated == 1
    summary = await load(make_uow, EXAMPLE)
    assert summary.sections["closures"].removed == 2 and summary.sections["time_off"].removed == 1
    assert "closures: 2 removed" in summary.lines()
    assert await rows(make_uow) == [
        (None, None, "2026-11-12 00:00", "2026-11-13 00:00", "Flood", "desk")]


async def test_nothing_is_offered_in_closed_time(ids, make_uow):
    assert "13:00" in await slots(make_uow, ids.ben, ids.east, ids.massage, FRIDAY)
    await load(make_uow, CLOSED)
    # The clinic closed everywhere on the 11th: nobody is offered, not even at the desk.
    day = date(2026, 11, 11)
    for booked_by in ("patient", "staff"):
        assert await slots(make_uow, ids.ana, ids.downtown, ids.physio_follow, day,
                           booked_by) == []
        assert await slots(make_uow, ids.ben, ids.east, ids.massage, day, booked_by) == []
    # East End closed 13:00-16:00 on Friday: Ben's hour must end by 13:00; Ana there too.
    ben = await slots(make_uow, ids.ben, ids.east, ids.massage, FRIDAY)
    assert (ben[0], ben[-1], len(ben)) == ("08:00", "12:00", 17)
    ana_east = await slots(make_uow, ids.ana, ids.east, ids.physio_follow, FRIDAY)
    assert ana_east[-1] == "12:30" and "13:00" not in ana_east
    # Ana away Wednesday and Thursday, wherever she works; Ben works on Wednesday.
    assert await slots(make_uow, ids.ana, ids.downtown, ids.physio_follow, WEDNESDAY) == []
    assert await slots(make_uow, ids.ana, ids.downtown, ids.physio_follow, THURSDAY) == []
    assert await slots(make_uow, ids.ben, ids.east, ids.massage, WEDNESDAY)
    # Removing a closure offers its time again (the set-up copy follows at once).
    async with make_uow() as uow:
        [east] = await uow.session.scalars(select(Closure.id).where(Closure.location_id.is_not(
            None)))
        await closures.remove(uow, east, time_off=False)
        await uow.commit()
    assert "13:00" in await slots(make_uow, ids.ben, ids.east, ids.massage, FRIDAY)


async def test_booking_and_moving_into_closed_time_are_refused(ids, make_uow):
    await close(make_uow, at(THURSDAY, 12), at(THURSDAY, 17), practitioner_id=ids.ana,
                reason="Dentist")
    for booked_by in ("patient", "staff"):
        async with make_uow() as uow:
            with pytest.raises(ClosedThen) as refused:
                await appointments.book(
                    uow, patient_id=ids.maya, practitioner_id=ids.ana,
                    location_id=ids.downtown, fee_id=ids.physio_follow,
                    starts_at=at(THURSDAY, 11, 45), booked_by=booked_by)
    assert refused.value.message == (
        "Ana Silva is away from 2026-11-05 12:00 to 2026-11-05 17:00 (Dentist), so "
        "2026-11-05 11:45 cannot be booked; choose another time")
    kept = await book(make_uow, ids, ids.maya, at(THURSDAY, 11, 30))  # ends as the time off starts
    async with make_uow() as uow:
        with pytest.raises(ClosedThen):
            await appointments.reschedule(uow, kept, at(THURSDAY, 16), by="staff")
    async with make_uow() as uow:
        assert (await appointments.get_appointment(uow, kept)).starts_at == at(THURSDAY, 11, 30)


async def test_a_closure_over_bookings_lists_them_and_tells_each_patient_once(ids, make_uow):
    maya_first = await book(make_uow, ids, ids.maya, at(WEDNESDAY, 10))
    maya_second = await book(make_uow, ids, ids.maya, at(WEDNESDAY, 11))
    leo = await book(make_uow, ids, ids.leo, at(WEDNESDAY, 9), ben=True)
    sofia = await book(make_uow, ids, ids.sofia, at(WEDNESDAY, 12), ben=True)
    elsewhere = await book(make_uow, ids, ids.maya, at(THURSDAY, 10))
    async with make_uow() as uow:
        (await uow.session.get(Patient, ids.sofia)).opted_out = True
        await uow.commit()
    [closure_id], booked = await close(make_uow, WEDNESDAY, reason="Staff training")
    assert booked == [leo, maya_first, maya_second, sofia] and elsewhere not in booked
    async with make_uow() as uow:
        closure = await closures.get(uow, closure_id, time_off=False)
        told = await closures.notify_patients(uow, closure)
        await uow.commit()
    # Leo has no phone: his goes to Maya, his guardian. Sofia opted out.
    assert (sorted(told.told), told.already, told.unreachable) == (
        sorted([ids.maya, ids.leo]), [], [ids.sofia])
    async with make_uow() as uow:
        again = await closures.notify_patients(uow, closure)
        await uow.commit()
    assert sorted(again.already) == sorted([ids.maya, ids.leo]) and again.told == []
    async with make_uow() as uow:
        queued = (await uow.session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == closures.CLINIC_CLOSED)
            .order_by(OutboxMessage.patient_id))).all()
        found = [(m.patient_id, m.params["appointment_ids"]) for m in queued]
    assert found == [
        (ids.maya, [maya_first, maya_second]), (ids.leo, [leo])]


async def test_the_notice_is_written_in_the_patients_language(ids, make_uow):
    from bot.delivery import notifications

    await book(make_uow, ids, ids.maya, at(WEDNESDAY, 10))
    await book(make_uow, ids, ids.maya, at(WEDNESDAY, 15))
    away = await book(make_uow, ids, ids.leo, at(FRIDAY, 13), ben=True)
    [closure_id], _ = await close(make_uow, WEDNESDAY, reason="Staff training")
    [ben_off], _ = await close(make_uow, at(FRIDAY, 12), at(FRIDAY, 17), practitioner_id=ids.ben)

    async def texts(kind: str, *languages: str) -> list[str | None]:
        async with make_uow() as uow:
            for closure in (closure_id, ben_off):
                await closures.notify_patients(uow, await uow.session.get(Closure, closure))
            message = await uow.session.scalar(
                select(OutboxMessage).where(OutboxMessage.kind == kind))
            clinic = await get_clinic(uow)
            found = []
            for language in languages:
                notice = await notifications.render(uow, clinic, message, translator(language))
                found.append(notice.text if notice else None)
            await uow.commit()
            return found

    en, es, fr = await texts(closures.CLINIC_CLOSED, "en_CA", "es", "fr")
    assert en == (
        "Harbour Physio & Wellness: we are closed on Nov 4, 2026 (Staff training). Maya has 2 "
        "appointments then (Wed 4 Nov, 10:00 a.m., Wed 4 Nov, 3:00 p.m.); they cannot take "
        "place. Please choose another time, or contact us and we will help.")
    assert es.startswith("Harbour Physio & Wellness: cerramos el 4 nov 2026 (Staff training). "
                         "Maya tiene 2 citas en esas fechas (")
    assert "no podrán realizarse. Elija otra hora" in es
    assert fr.startswith("Harbour Physio & Wellness : nous sommes fermés le 4 nov. 2026 ")
    assert "Maya a 2 rendez-vous à ces dates (" in fr
    [away_en] = await texts(closures.PRACTITIONER_AWAY, "en_CA")
    assert away_en.startswith(
        "Harbour Physio & Wellness: Ben Okafor is away from Fri 6 Nov, 12:00 p.m. to Fri 6 Nov, "
        "5:00 p.m. Leo's appointment on Fri 6 Nov, 1:00 p.m. (Massage therapy 60 min with Ben "
        "Okafor) cannot take place then.")
    assert ".." not in away_en
    # Moved out of the closed time: nothing left to say.
    async with make_uow() as uow:
        await appointments.cancel(uow, away, by="staff")
        await uow.commit()
    assert await texts(closures.PRACTITIONER_AWAY, "en_CA") == [None]


async def test_a_closure_added_while_booking_never_hides_a_booking_in_it(ids, make_uow):
    """A booking and a closure over it race: the booking is refused, or the closure lists it.

    Six rounds (Mondays and Wednesdays, when Ana and Ben both work): two bookings and a
    clinic closure of that day at once. Without the closure's lock on the practitioners this
    fails on PostgreSQL (the closure misses a booking committed just after its look).
    """
    days = [date(2026, 11, 9) + timedelta(days=7 * week + offset)
            for week in range(3) for offset in (0, 2)]
    for day in days:
        barrier = asyncio.Barrier(3)

        async def booker(practitioner_is_ben: bool, day: date = day) -> object:
            async with make_uow() as uow:
                if uow.dialect == "postgresql":
                    await get_clinic(uow)
                    await barrier.wait()
                appointment = await appointments.book(
                    uow, patient_id=ids.maya,
                    practitioner_id=ids.ben if practitioner_is_ben else ids.ana,
                    location_id=ids.east if practitioner_is_ben else ids.downtown,
                    fee_id=ids.massage if practitioner_is_ben else ids.physio_follow,
                    starts_at=at(day, 10), booked_by="staff", package_id=None)
                await uow.commit()
                return appointment.id

        async def closer(day: date = day) -> list[int]:
            async with make_uow() as uow:
                if uow.dialect == "postgresql":
                    await get_clinic(uow)
                    await barrier.wait()
                starts_at, ends_at = closures.span(day, None, await closures.clinic_zone(uow))
                _, booked = await closures.add(uow, starts_at=starts_at, ends_at=ends_at)
                await uow.commit()
                return [a.id for a in booked]

        results = await asyncio.wait_for(asyncio.gather(
            booker(False), booker(True), closer(), return_exceptions=True), 60)
        *bookings, listed = results
        assert isinstance(listed, list), listed
        for outcome in bookings:
            assert isinstance(outcome, int | ClosedThen), outcome
            if isinstance(outcome, int):
                assert outcome in listed, f"{day}: booking {outcome} hidden in the closure"
        async with make_uow() as uow:
            start, end = closures.span(day, None, await closures.clinic_zone(uow))
            inside = (await uow.session.scalars(select(Appointment.id).where(
                Appointment.status == "booked", Appointment.starts_at >= start,
                Appointment.starts_at < end))).all()
        assert sorted(inside) == sorted(listed)


async def test_whole_days_across_a_clock_change(ids, make_uow):
    [closure_id], _ = await close(make_uow, date(2027, 3, 14))  # spring forward: 23 hours
    async with make_uow() as uow:
        closure = await uow.session.get(Closure, closure_id)
        tz = await closures.clinic_zone(uow)
        assert (closure.ends_at - closure.starts_at).total_seconds() == 23 * 3600
        assert closures.whole_days(closure, tz) == (date(2027, 3, 14), date(2027, 3, 14))


async def test_a_load_that_closes_over_bookings_says_so(ids, make_uow):
    booked = await book(make_uow, ids, ids.maya, at(date(2026, 11, 11), 10))
    summary = await load(make_uow, CLOSED)
    assert summary.booked == [
        f"closure 2026-11-11 00:00 to 2026-11-12 00:00 covers booked appointment(s) {booked}: "
        "move or cancel them; 'clinicbot staff closed list' gives its ID, and 'clinicbot staff "
        "closed notify ID' tells those patients"]
    assert summary.lines()[-1].startswith("booked: closure 2026-11-11 00:00")
    assert (await load(make_uow, CLOSED)).booked == [], "said once, when the closure is added"
