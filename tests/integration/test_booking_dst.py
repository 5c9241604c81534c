"""Daylight saving with the example clinic (America/Toronto) on both databases (RULES.md 21).

Toronto springs forward on 2027-03-14 (02:00 EST -> 03:00 EDT) and falls back on 2026-11-01
(02:00 EDT -> 01:00 EST). Both are Sundays; the tests give Ben a Sunday night block across the
change, 00:00-04:00 at the east location, and book his 60-minute massage.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from bot.services import appointments, availability
from bot.services.errors import SlotTaken, SlotUnavailable
from bot.storage.models import WorkingHours
from tests.booking_support import TORONTO, Ids, at, load_ids, wall

FALL_BACK, SPRING_FORWARD = date(2026, 11, 1), date(2027, 3, 14)


@pytest.fixture
async def ids(clinic, make_uow) -> Ids:
    async with make_uow() as uow:
        found = await load_ids(uow)
        uow.session.add(WorkingHours(
            practitioner_id=found.ben, location_id=found.east, weekday=6,
            start=time(0), end=time(4),
        ))
        await uow.commit()
        return found


async def night(make_uow, ids: Ids, day: date, **options) -> list[datetime]:
    async with make_uow() as uow:
        return await availability.offered_slots(
            uow, ids.ben, ids.east, ids.massage, day, 1, **options
        )


def walls(starts: list[datetime]) -> list[str]:
    return [start.astimezone(TORONTO).strftime("%H:%M%z") for start in starts]


async def test_spring_forward_offers_only_local_times_that_exist(ids, make_uow, clock):
    clock.set(datetime(2027, 3, 1, 15, tzinfo=UTC))
    starts = await night(make_uow, ids, SPRING_FORWARD)
    assert walls(starts) == [
        "00:00-0500", "00:15-0500", "00:30-0500", "00:45-0500",
        "01:00-0500", "01:15-0500", "01:30-0500", "01:45-0500",
        "03:00-0400",  # 02:xx does not exist; 03:15 would end after 04:00
    ]
    # A 01:45 EST massage lasts one real hour and ends at 03:45 EDT.
    booked = await _book(make_uow, ids, starts[7])
    assert wall(booked.ends_at) == "2027-03-14 03:45"
    assert walls(await night(make_uow, ids, SPRING_FORWARD)) == [
        "00:00-0500", "00:15-0500", "00:30-0500", "00:45-0500",
    ]
    with pytest.raises(SlotUnavailable):  # 03:30 EDT: the hour would end after 04:00
        await _book(make_uow, ids, datetime(2027, 3, 14, 3, 30, tzinfo=TORONTO))


async def test_fall_back_offers_the_repeated_hour_once_per_real_moment(ids, make_uow, clock):
    clock.set(datetime(2026, 10, 25, 15, tzinfo=UTC))
    starts = await night(make_uow, ids, FALL_BACK)
    assert len(starts) == 17  # 5 real hours from 04:00 to 09:00 UTC, 60-minute massage
    assert len(set(starts)) == 17
    listed = walls(starts)
    for minute in ("00", "15", "30", "45"):
        assert listed.count(f"01:{minute}-0400") == 1 and listed.count(f"01:{minute}-0500") == 1
    assert listed.count("00:00-0400") == 1 and listed[-1] == "03:00-0500"
    # Book the second 01:15 (EST): it is stored as its own UTC moment and keeps its wall time.
    second = next(s for s in starts if walls([s]) == ["01:15-0500"])
    booked = await _book(make_uow, ids, second)
    async with make_uow() as uow:
        stored = await appointments.get_appointment(uow, booked.id)
        assert stored.starts_at == datetime(2026, 11, 1, 6, 15, tzinfo=UTC)
        assert walls([stored.starts_at]) == ["01:15-0500"]
    after = walls(await night(make_uow, ids, FALL_BACK))
    assert "01:15-0400" in after and "01:15-0500" not in after and "02:15-0500" in after
    assert len(after) == 17 - 7  # every start within an hour before or after it is gone
    with pytest.raises(SlotTaken):
        await _book(make_uow, ids, second + timedelta(minutes=30))


async def _book(make_uow, ids: Ids, starts_at: datetime):
    async with make_uow() as uow:
        appointment = await appointments.book(
            uow, patient_id=ids.sofia, practitioner_id=ids.ben, location_id=ids.east,
            fee_id=ids.massage, starts_at=starts_at, booked_by="staff",
        )
        await uow.commit()
        return appointment


@pytest.mark.parametrize(
    ("now", "before", "after"),
    [
        (datetime(2026, 10, 26, 12, tzinfo=UTC), "2026-10-29", "2026-11-02"),  # fall back
        (datetime(2027, 3, 8, 13, tzinfo=UTC), "2027-03-11", "2027-03-15"),  # spring forward
    ],
)
async def test_appointments_keep_their_local_time_across_a_change(
    ids, make_uow, clock, now, before, after
):
    clock.set(now)
    booked = []
    for day in (before, after):
        async with make_uow() as uow:
            starts = await availability.offered_slots(
                uow, ids.ana, ids.downtown, ids.physio_follow, date.fromisoformat(day), 1
            )
            assert len(starts) == 31  # 09:00 ... 16:30 on both sides of the change
            assert walls(starts)[0].startswith("09:00")
            appointment = await appointments.book(
                uow, patient_id=ids.sofia, practitioner_id=ids.ana, location_id=ids.downtown,
                fee_id=ids.physio_follow, starts_at=at(day, 10), package_id=None,
            )
            await uow.commit()
            booked.append(appointment.id)
    async with make_uow() as uow:
        first, second = [await appointments.get_appointment(uow, i) for i in booked]
        assert wall(first.starts_at) == f"{before} 10:00"
        assert wall(second.starts_at) == f"{after} 10:00"
        # Same wall time, different UTC hour: the offset changed in between.
        utc_hours = {first.starts_at.astimezone(UTC).hour, second.starts_at.astimezone(UTC).hour}
        assert utc_hours == {14, 15}
