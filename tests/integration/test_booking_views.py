"""The console's booking views (bot/services/booking_views.py) on both databases: one
appointment with its names, the packages that could cover a fee, and the closed time to come.

The example clinic; the clock is Monday 2 November 2026, 08:00 in Toronto. Maya owns a Physio
5-pack (physio-follow, Ana, Downtown; 3 uses available).
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from bot.services import booking_views, closures, noshows
from bot.services.errors import NotFound
from bot.storage.models import Fee, Location, Practitioner
from tests.integration._builders import book, local, package_of, patient

pytestmark = pytest.mark.usefixtures("clinic")


async def _fee(uow, key: str) -> int:  # type: ignore[no-untyped-def]
    found = await uow.session.scalar(select(Fee.id).where(Fee.key == key))
    assert found is not None
    return int(found)


async def test_an_appointment_with_its_names_package_and_no_show(make_uow, clock) -> None:
    async with make_uow() as uow:
        package = await package_of(uow, "maya")
        made = await book(uow, "maya", local(2026, 11, 2, 9), package_id=package.id)
        await uow.commit()
        made_id, package_id = made.id, package.id
    async with make_uow(readonly=True) as uow:
        shown = await booking_views.appointment_view(uow, made_id)
    assert (shown.patient_name, shown.practitioner_name, shown.location_name, shown.fee_name,
            shown.minutes, shown.status) == ("Maya Chen", "Ana Silva", "Downtown",
                                             "Physiotherapy follow-up", 30, "booked")
    assert shown.package_id == package_id and shown.package_name == "Physio 5-pack"
    assert shown.no_show_id is None and shown.starts_at == local(2026, 11, 2, 9)
    clock.advance(local(2026, 11, 2, 9, 40) - clock.now())
    async with make_uow() as uow:
        await noshows.mark_no_show(uow, made_id, by="desk")
        await uow.commit()
    async with make_uow(readonly=True) as uow:
        shown = await booking_views.appointment_view(uow, made_id)
        assert shown.status == "no_show" and shown.no_show_id is not None
        with pytest.raises(NotFound):
            await booking_views.appointment_view(uow, 999999)


async def test_the_packages_covering_a_fee_and_a_live_patient(make_uow) -> None:
    async with make_uow(readonly=True) as uow:
        maya = await patient(uow, "maya")
        follow = await booking_views.packages_for_fee(
            uow, maya.id, await _fee(uow, "physio-follow"))
        assert [c.package.name for c in follow] == ["Physio 5-pack"]
        assert not follow[0].scope.covers_location(-1)
        assert await booking_views.packages_for_fee(
            uow, maya.id, await _fee(uow, "massage-60")) == []
        assert (await booking_views.live_patient(uow, maya.id)).id == maya.id
        with pytest.raises(NotFound):
            await booking_views.live_patient(uow, 999999)


async def test_closed_time_to_come_with_names_days_and_booked_appointments(
        make_uow, clock) -> None:
    async with make_uow() as uow:
        ana = await uow.session.scalar(select(Practitioner.id).where(Practitioner.key == "ana"))
        east = await uow.session.scalar(select(Location.id).where(Location.key == "east"))
        booked = (await book(uow, "maya", local(2026, 11, 10, 10))).id
        zone = await closures.clinic_zone(uow)
        whole = closures.span(date(2026, 11, 10), None, zone)
        await closures.add(uow, starts_at=whole[0], ends_at=whole[1], reason="Staff day")
        await closures.add(uow, starts_at=local(2026, 11, 6, 13), ends_at=local(2026, 11, 6, 16),
                           location_ids=[east])
        await closures.add(uow, starts_at=local(2026, 11, 11, 12),
                           ends_at=local(2026, 11, 11, 17), practitioner_id=ana)
        await uow.commit()
    async with make_uow(readonly=True) as uow:
        found = await booking_views.closed_times(uow, clock.now())
    assert [(c.practitioner_name, c.location_name, c.first_day, c.booked, c.time_off)
            for c in found] == [
        (None, "East End", None, [], False),
        (None, None, date(2026, 11, 10), [booked], False),
        ("Ana Silva", None, None, [], True),
    ]
    assert found[1].last_day == date(2026, 11, 10) and found[1].reason == "Staff day"
    assert not found[1].from_file
