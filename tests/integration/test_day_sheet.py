"""The desk's day (:mod:`bot.services.day_sheet`): appointments per practitioner and location,
and the free gaps left by appointments (at any location), closures and time off, on SQLite and
PostgreSQL with the example clinic (Ana: Downtown Monday to Thursday 09:00-17:00)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from zoneinfo import ZoneInfo

from bot.services import closures, day_sheet
from bot.services.day_sheet import Gap, Visit
from bot.storage.uow import UnitOfWork
from tests.integration._builders import book, local

MONDAY = date(2026, 11, 2)
TORONTO = ZoneInfo("America/Toronto")


def gaps(column: day_sheet.Column) -> list[tuple[int, int]]:
    """Each gap as (start hour, end hour) in Toronto wall time."""
    return [(local_hour(e.starts_at), local_hour(e.ends_at)) for e in column.entries
            if isinstance(e, Gap)]


def local_hour(moment: datetime) -> int:
    return moment.astimezone(TORONTO).hour


async def test_time_off_and_appointments_elsewhere_leave_no_gap(
        clinic: None, make_uow: Callable[..., UnitOfWork]) -> None:
    async with make_uow() as uow:
        await book(uow, "maya", local(2026, 11, 2, 10))
        ana = (await book(uow, "leo", local(2026, 11, 2, 14))).practitioner_id
        await closures.add(uow, starts_at=local(2026, 11, 2, 12), ends_at=local(2026, 11, 2, 13),
                           practitioner_id=ana, reason="dentist")
        await uow.commit()
    async with make_uow(readonly=True) as uow:
        columns = await day_sheet.day_sheet(uow, MONDAY)
        mine = await day_sheet.day_sheet(uow, MONDAY, practitioner_id=ana)
    names = [(c.practitioner.name, c.location.name) for c in columns]
    assert names == [("Ana Silva", "Downtown"), ("Ben Okafor", "East End")]
    [downtown] = mine
    visits = [e for e in downtown.entries if isinstance(e, Visit)]
    assert [v.patient_name for v in visits] == ["Maya Chen", "Leo Chen"]
    # Free 09-10, maya 10:00-10:30, free 10:30-12, time off 12-13, free 13-14,
    # leo 14:00-14:30, free 14:30-17.
    assert gaps(downtown) == [(9, 10), (10, 12), (13, 14), (14, 17)]
    assert [type(e).__name__ for e in downtown.entries] == [
        "Gap", "Visit", "Gap", "Gap", "Visit", "Gap"]


async def test_a_day_nobody_works_is_empty(clinic: None, make_uow: Callable[..., UnitOfWork]
                                           ) -> None:
    async with make_uow(readonly=True) as uow:
        assert await day_sheet.day_sheet(uow, date(2026, 11, 8)) == []  # a Sunday
