"""The chat never offers closed time (issue 16 item 11, RULES.md 20).

The clock is Monday 2 November 2026, 08:00 in Toronto. Maya's Physio 5-pack books Ana at
Downtown (Mon-Thu 9-17). The clinic is closed on Tuesday 3 November, Downtown closes at noon
on Wednesday 4 November, and Ana is away on Thursday 5 November: the days and times offered
skip all of it, a typed closed day offers no time on it, and a closure added while the patient
confirms leaves nothing booked in it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from bot.services import closures
from bot.storage.models import Appointment, Location, Practitioner
from tests.dialogs.chat import Chat
from tests.dialogs.conftest import MAYA

OPEN_DAYS = ["Mon 2 Nov", "Wed 4 Nov", "Mon 9 Nov", "Tue 10 Nov", "Wed 11 Nov", "Thu 12 Nov"]


async def close(make_uow, start, end=None, *, practitioner: str | None = None,
                location: str | None = None) -> list[int]:
    async with make_uow() as uow:
        tz = await closures.clinic_zone(uow)
        who = await uow.session.scalar(select(Practitioner.id).where(
            Practitioner.key == practitioner)) if practitioner else None
        where = await uow.session.scalar(select(Location.id).where(
            Location.key == location)) if location else None
        starts_at, ends_at = closures.span(start, end, tz)
        _, booked = await closures.add(uow, starts_at=starts_at, ends_at=ends_at,
                                       practitioner_id=who, location_ids=[where])
        await uow.commit()
        return [a.id for a in booked]


def toronto(day: int, hour: int) -> datetime:
    return datetime(2026, 11, day, hour + 5, tzinfo=UTC)  # EST, UTC-5


@pytest.fixture
async def closed(make_uow) -> None:
    await close(make_uow, date(2026, 11, 3))
    await close(make_uow, toronto(4, 12), toronto(4, 17), location="downtown")
    await close(make_uow, date(2026, 11, 5), practitioner="ana")


async def pick(chat: Chat, label: str) -> None:
    """Choose as the channel does: a button on Telegram, the number by SMS."""
    await (chat.press(label) if chat.channel == "telegram" else chat.choose(label))


async def times_of(chat: Chat, day: str) -> list[str]:
    """Every time offered on ``day``, through all its pages."""
    await pick(chat, day)
    found: list[str] = []
    while True:
        found += [label for label in chat.labels if label[0].isdigit()]
        if not any("More" in label for label in chat.labels):
            return found
        await pick(chat, "More")


async def start(chat: Chat) -> None:
    await chat.say("hi")
    for label in ("Book an appointment", "Maya", "Physio 5-pack"):
        await pick(chat, label)


@pytest.mark.parametrize("channel", ["sms", "telegram"])
async def test_closed_days_and_times_are_never_offered(bot_engine, closed, make_uow, channel):
    chat = Chat(bot_engine, channel=channel, address=MAYA if channel == "sms" else "7001",
                phone=MAYA, telegram_user_id=7001 if channel == "telegram" else None)
    await start(chat)
    assert chat.labels == OPEN_DAYS
    wednesday = await times_of(chat, "Wed 4 Nov")
    assert wednesday[0] == "9:00 a.m." and wednesday[-1] == "11:30 a.m."
    assert "12:00 p.m." not in wednesday
    for typed in ("tomorrow", "Thursday", "5 November 10am"):
        await chat.say("menu")
        await start(chat)
        reply = await chat.say(typed)
        assert "Which time on" not in reply.text and "Confirm" not in chat.labels, typed
        assert "Tue 3 Nov" not in chat.labels and "Thu 5 Nov" not in chat.labels
    async with make_uow() as uow:
        assert (await uow.session.scalars(select(Appointment))).all() == []


async def test_a_closure_added_while_confirming_books_nothing(chat, make_uow):
    await start(chat)
    await chat.choose("Wed 4 Nov")
    await chat.choose("Morning")
    reply = await chat.choose("10:00 a.m.")
    assert "Confirm" in chat.labels, reply.text
    assert await close(make_uow, date(2026, 11, 4), location="downtown") == []
    reply = await chat.choose("Confirm")
    assert "Booked for" not in reply.text
    assert not any(label.endswith("a.m.") or label.endswith("p.m.") for label in chat.labels)
    async with make_uow() as uow:
        assert (await uow.session.scalars(select(Appointment))).all() == []


