"""An invitation accepted on Telegram, end to end (issue 18, item 3): the real server and
Application against the Bot API stand-in, by long polling and by webhook.

The desk's link is ``https://t.me/<the bot's username from getMe>?start=<code>``; opening it
sends ``/start <code>``. An account Telegram has not linked yet is first asked to share its own
phone (the existing link dialog), the code kept meanwhile: a known phone links and accepts at
once, a new one registers first. Then "Who is this for?" offers Leo.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from bot.handlers.telegram_link import bot_username, deep_link
from bot.services import audit, invitations
from bot.storage.models import guardianship
from tests.e2e.telegram_harness import Telegram, TgUser, telegram_server
from tests.integration._builders import patient


@pytest.fixture(params=["polling", "webhook"])
async def tg(request, clinic: None, database_url: str, clock) -> AsyncIterator[Telegram]:
    async with telegram_server(database_url, clock, mode=request.param) as player:
        yield player


async def _invite(make_uow, key: str = "leo") -> invitations.Issued:
    async with make_uow() as uow:
        leo = (await patient(uow, key)).id
        issued = await invitations.create(uow, leo, actor=audit.Actor("desk", "console"))
        await uow.commit()
        return issued


async def _guardians(make_uow) -> list[int]:
    async with make_uow() as uow:
        return list((await uow.session.scalars(select(guardianship.c.guardian_id).where(
            guardianship.c.source == "desk"))).all())


async def test_the_deep_link_links_a_known_phone_and_accepts(tg: Telegram, make_uow) -> None:
    issued = await _invite(make_uow, "sofia")
    username = await bot_username(tg.settings)
    link = deep_link(username or "", issued.code)
    assert link == f"https://t.me/clinic_test_bot?start={issued.code}"
    maya = TgUser(tg, 7104, "Maya")
    reply = await maya.say(f"/start {issued.code}")
    assert "First we need to know who you are" in reply and "share your phone" in reply
    assert maya.last[-1].params["reply_markup"]["keyboard"][0][0]["request_contact"] is True
    reply = await maya.share_contact("+14165550101")
    assert reply.index("linked") < reply.index("You can now book and view for Sofía.")
    async with make_uow() as uow:
        assert await _guardians(make_uow) == [(await patient(uow, "maya")).id]
    await maya.press("Book an appointment")
    assert "Who is this for?" in maya.last[-1].text
    assert any("Sofía Ramírez" in label for label in maya.labels)
    # Opening the link again: the code is used up.
    assert "already used" in await maya.say(f"/start {issued.code}")


async def test_a_new_account_registers_then_accepts(tg: Telegram, make_uow) -> None:
    issued = await _invite(make_uow)
    ada = TgUser(tg, 7105, "Ada")
    await ada.say(f"/start {issued.code}")
    assert "first name" in await ada.share_contact("14165550188")
    await ada.say("Ada")
    await ada.say("Lovelace")
    await ada.say("1990-12-10")
    reply = await ada.press("Yes")
    assert "You are registered" in reply and "You can now book and view for Leo." in reply
    assert len(await _guardians(make_uow)) == 1
    stranger = TgUser(tg, 7106, "Eve")
    assert "not valid" in await stranger.say("/start 2345BCDF")
    assert len(await _guardians(make_uow)) == 1
