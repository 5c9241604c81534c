"""A package's statement by SMS through the real server (issue 18, item 1): My packages -> the
package -> Statement answers with a short summary in one message of at most 3 segments, in the
patient's language, and nothing is attached.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.handlers import sms_text
from tests.dialogs.conftest import MAYA
from tests.e2e.sms_harness import SmsPatient, Twilio, sms_server
from tests.integration._builders import patient


@pytest.fixture
async def twilio(clinic: None, database_url: str, clock) -> AsyncIterator[Twilio]:
    async with sms_server(database_url, clock) as player:
        yield player


async def test_the_statement_by_sms_is_a_short_summary(twilio):
    maya = SmsPatient(twilio, MAYA)
    await maya.say("hi")
    await maya.choose("My packages")
    await maya.choose("Maya Chen (me)")
    await maya.choose("Physio 5-pack")
    reply = await maya.choose("Statement")
    assert len(maya.last) == 1 and sms_text.segments(maya.last[0]) <= 3
    assert reply.startswith(
        "Physio 5-pack: paid $400.00 of $400.00, $0.00 owed. Uses: 2 redeemed, 0 booked, "
        "3 available; expires Mar 30, 2027.")
    assert maya.labels == ["Back"]


async def test_in_french_too(twilio, make_uow):
    async with make_uow() as uow:
        (await patient(uow, "maya")).locale = "fr"
        await uow.commit()
    maya = SmsPatient(twilio, MAYA)
    await maya.say("bonjour")
    await maya.choose("Mes forfaits")
    await maya.choose("Maya")
    await maya.choose("Physio 5-pack")
    reply = await maya.choose("Relevé")
    assert len(maya.last) == 1 and sms_text.segments(maya.last[0]) <= 3
    assert "payé 400,00" in reply and "expire le 30 mars 2027" in reply, reply
