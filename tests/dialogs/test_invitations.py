"""Invitation codes in chat (issue 18, item 3), as transcripts on the real engine and database.

A code is recognised from any sender at any step (in any case, with spaces or a hyphen), and
only a code: words and dates are answers as before. Accepted by a known patient at once; for
oneself, expired, revoked or unknown: a clear answer and no access. Sofía reads it in Spanish.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.services import audit, invitations
from bot.storage.models import guardianship
from tests.dialogs.conftest import SOFIA
from tests.integration._builders import patient

DESK = audit.Actor("desk", "cli")


async def invite(make_uow, key: str, **kw) -> invitations.Issued:
    async with make_uow() as uow:
        issued = await invitations.create(uow, (await patient(uow, key)).id, actor=DESK, **kw)
        await uow.commit()
        return issued


async def wards_of(make_uow, key: str) -> list[int]:
    async with make_uow() as uow:
        who = (await patient(uow, key)).id
        return list((await uow.session.scalars(select(guardianship.c.ward_id).where(
            guardianship.c.guardian_id == who))).all())


async def test_a_code_mid_booking_is_accepted_and_the_family_flow_follows(
        chat, make_uow) -> None:
    issued = await invite(make_uow, "sofia")
    await chat.say("menu")
    await chat.choose("Book an appointment")
    assert "Who is this for?" in chat.last.text
    typed = f"{issued.code[:4].lower()} - {issued.code[4:]}"
    reply = await chat.say(typed)
    assert reply.text.startswith("You can now book and view for Sofía.")
    assert "What would you like to do?" in reply.text  # back at the menu, nothing half-chosen
    await chat.choose("Book an appointment")
    assert [o.label for o in chat.last.options] == [
        "Maya Chen (me)", "Leo Chen", "Sofía Ramírez"]


async def test_a_code_is_only_a_code(chat, make_uow) -> None:
    await invite(make_uow, "sofia")
    await chat.say("menu")
    await chat.choose("Talk to the clinic")
    reply = await chat.say("Thursday")
    assert "invitation" not in reply.text and "code" not in reply.text


async def test_self_expired_and_revoked_codes_give_no_access(make_chat, make_uow,
                                                             clock) -> None:
    sofia = make_chat(SOFIA, language_code="es")
    mine = await invite(make_uow, "sofia")
    reply = await sofia.say(mine.code)
    assert "su propio expediente" in reply.text
    leo = await invite(make_uow, "leo", days=1)
    clock.advance(timedelta(days=1, seconds=1))
    assert "venció" in (await sofia.say(leo.code)).text
    async with make_uow() as uow:
        await invitations.revoke(uow, leo.invitation_id, actor=DESK)
        await uow.commit()
    assert "retiró" in (await sofia.say(leo.code)).text
    assert "no es válido" in (await sofia.say("9999ZZZZ")).text
    assert await wards_of(make_uow, "sofia") == []
    # Her own invitation stayed open for the family member it was for.
    async with make_uow() as uow:
        views = await invitations.invitations_of(uow, mine.patient_id)
    assert [v.status for v in views] == ["open"]
