"""An invitation accepted by SMS, end to end (issue 18, item 3): the real server with real
Twilio signatures, the outbox delivering through twilio's client to the Twilio stand-in.

The desk invites a family member for Leo with the invitee's phone; the SMS waits out the quiet
hours, then carries the code; the invitee (a number the clinic does not know) texts it back,
registers as usual, and is told "You can now book and view for Leo"; booking then asks whom
it is for, Leo included. The same code again, a wrong one, and a burst of wrong ones (locked
out, even the right code is not checked then) get clear answers and no access.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bot.delivery.channels import Channels, SmsChannel
from bot.delivery.sender import Deliverer
from bot.handlers.sms_sender import TwilioSender
from bot.services import audit, invitation_codes, invitations
from bot.storage.models import OutboxMessage, guardianship
from tests.dialogs.conftest import SOFIA
from tests.e2e.sms_harness import ACCOUNT_SID, FROM_NUMBER, TOKEN, SmsPatient, Twilio, sms_server
from tests.e2e.twilio_standin import LiveServer, TwilioStandin
from tests.integration._builders import patient

INVITEE = "+14165550177"


@pytest.fixture
async def twilio(clinic: None, database_url: str, clock) -> AsyncIterator[Twilio]:
    async with sms_server(database_url, clock) as player:
        yield player


async def deliver(engine, clock, url: str):
    sender = TwilioSender(ACCOUNT_SID, TOKEN, api_base_url=url, from_number=FROM_NUMBER)
    try:
        return await Deliverer(engine, clock, Channels([SmsChannel(sender)])).run_once()
    finally:
        await sender.close()


async def test_the_invitee_texts_the_code_registers_and_books_for_leo(
        twilio: Twilio, engine, make_uow, clock) -> None:
    clock.set(datetime(2026, 11, 3, 2, 30, tzinfo=UTC))  # 21:30 at the clinic: quiet hours
    async with make_uow() as uow:
        leo = (await patient(uow, "leo")).id
        await invitations.create(uow, leo, actor=audit.Actor("desk", "console"),
                                 sms_phone="(416) 555-0177")
        await uow.commit()
    standin = TwilioStandin()
    async with LiveServer(standin.app()) as live:
        assert (await deliver(engine, clock, live.url)).held == 1
        assert standin.received == []
        clock.set(datetime(2026, 11, 3, 14, 0, tzinfo=UTC))  # 09:00
        assert (await deliver(engine, clock, live.url)).sent == 1
    [sent] = standin.received
    assert sent.params["To"] == INVITEE
    body = sent.params["Body"]
    assert "invited to book and view appointments for Leo" in body
    code = re.search(r"code: ([0-9A-Z]{8})", body)
    assert code, body

    invitee = SmsPatient(twilio, INVITEE)
    said = await invitee.say(code.group(1).lower())
    assert "First we need to know who you are" in said and "first name" in said
    await invitee.say("Ada")
    await invitee.say("Lovelace")
    await invitee.say("1990-01-02")
    said = await invitee.say("1")
    assert "You are registered" in said and "You can now book and view for Leo." in said
    await invitee.choose("Book an appointment")
    assert "Who is this for?" in "\n".join(invitee.last)
    assert any("Leo Chen" in label for label in invitee.labels)
    async with make_uow() as uow:
        links = (await uow.session.execute(select(guardianship.c.ward_id).where(
            guardianship.c.source == "desk"))).scalars().all()
        assert links == [leo]
        [params] = (await uow.session.scalars(select(OutboxMessage.params))).all()
        assert "code" not in params  # the code left the outbox with the acceptance

    # Sofía sends the used code: told so (in Spanish, her language), nothing changes.
    sofia = SmsPatient(twilio, SOFIA)
    assert "Ese código de invitación ya se usó." in await sofia.say(code.group(1))


async def test_wrong_codes_are_answered_and_locked_out(twilio: Twilio, make_uow) -> None:
    async with make_uow() as uow:
        leo = (await patient(uow, "leo")).id
        issued = await invitations.create(uow, leo, actor=audit.Actor("desk", "cli"))
        await uow.commit()
    sofia = SmsPatient(twilio, SOFIA)
    wrong = "2222BBBB" if issued.code != "2222BBBB" else "3333CCCC"
    for _ in range(invitation_codes.CHAT_FAILURES - 1):
        assert "Ese código no es válido" in await sofia.say(wrong)
    assert "demasiados códigos incorrectos" in await sofia.say(wrong)
    assert "demasiados códigos incorrectos" in await sofia.say(issued.code)  # not checked
    async with make_uow() as uow:
        assert (await uow.session.execute(select(guardianship.c.guardian_id).where(
            guardianship.c.source == "desk"))).all() == []
    # Another phone is not locked: Maya already manages Leo, nothing is used up.
    maya = SmsPatient(twilio, "+14165550101")
    assert "You can already book and view for Leo" in await maya.say(issued.code)
