"""The ``Arrived`` button of a staff chat (issue 14 items 17-18): pressed before the appointment
can have begun, it changes nothing and says from when it can be pressed, in the clinic's locale
(en_CA) and time, never UTC; from 15 minutes before the start it marks the arrival."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.storage.models import Appointment
from tests.e2e.telegram_harness import Telegram, TgUser, telegram_server
from tests.integration._builders import book, counters, local, package_of

DESK_CHAT = -1001234567890
STARTS = local(2026, 11, 3, 10)  # Tuesday 10:00 in Toronto, 15:00 UTC


@pytest.fixture(params=["polling", "webhook"])
async def tg(request, clinic: None, database_url: str, clock) -> AsyncIterator[Telegram]:
    async with telegram_server(database_url, clock, mode=request.param) as player:
        yield player


async def test_arrived_pressed_too_early_is_refused_in_clinic_time(tg, make_uow, clock):
    async with make_uow() as uow:
        package = await package_of(uow, "maya")
        appointment_id = (await book(uow, "maya", STARTS, package_id=package.id)).id
        package_id = package.id
        await uow.commit()
        before = await counters(uow, package_id)
    clock.set(STARTS - timedelta(hours=1))
    desk = TgUser(tg, 8001, "Desk", chat_id=DESK_CHAT)
    assert "Maya Chen" in await desk.say("/today")
    refused = await desk.press("Arrived")
    assert "Nothing was changed" in refused
    assert f"appointment {appointment_id} starts Tue 3 Nov, 10:00" in refused
    assert "it can be marked arrived from Tue 3 Nov, 9:45" in refused
    assert "15:00" not in refused and "+00:00" not in refused
    async with make_uow() as uow:
        found = await uow.session.get(Appointment, appointment_id)
        assert found is not None and found.status == "booked"
        assert await counters(uow, package_id) == before

    clock.set(STARTS - timedelta(minutes=10))
    await desk.say("/today")
    assert "Marked arrived" in await desk.press("Arrived")
    async with make_uow() as uow:
        found = await uow.session.get(Appointment, appointment_id)
        assert found is not None and found.status == "arrived"
