"""Asking in chat for a copy of one's data or to be forgotten (issue 21): a staff task in the
desk's inbox and an alert, once a day, never an automatic export or erasure."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.delivery import notifications
from bot.dialogs.understand_data import data_intent
from bot.i18n import translator
from bot.services.clinic import get_clinic
from bot.storage.models import InboxItem, OutboxMessage, Patient
from tests.dialogs.conftest import SOFIA


async def _tasks(make_uow) -> list[tuple[int | None, object, object, object]]:
    """The data requests in the inbox: (patient, what, asked by, handled at)."""
    async with make_uow(readonly=True) as uow:
        items = (await uow.session.scalars(
            select(InboxItem).where(InboxItem.kind == "data_request").order_by(InboxItem.id)
        )).all()
        return [(i.patient_id, i.params["what"], i.params["requested_by"], i.handled_at)
                for i in items]


async def _patient_id(make_uow, key: str) -> int:
    async with make_uow(readonly=True) as uow:
        return (await uow.session.scalar(select(Patient.id).where(Patient.key == key))) or 0


@pytest.mark.parametrize(("text", "intent"), [
    ("send me my data", "my_data"), ("Can I get a copy of my personal data?", "my_data"),
    ("delete my data", "forget_me"), ("Forget me please", "forget_me"),
    ("quiero una copia de mis datos", "my_data"), ("Olvídame", "forget_me"),
    ("borren mis datos por favor", "forget_me"), ("je veux mes données", "my_data"),
    ("Oubliez-moi", "forget_me"), ("supprimez mon compte", "forget_me"),
    ("MY DATA", "my_data"), ("DELETE MY DATA", "forget_me"),  # what HELP says to send
    ("MIS DATOS", "my_data"), ("BORRAR MIS DATOS", "forget_me"),
    ("MES DONNÉES", "my_data"), ("SUPPRIMER MES DONNÉES", "forget_me"),
    ("book a massage on friday", None), ("cancel my appointment", None),
    ("how many sessions do I have left?", None),
])
def test_requests_about_data_are_read_in_three_languages(text, intent):
    from bot.dialogs.matching import fold

    assert data_intent(fold(text)) == intent


async def test_a_guardian_asks_for_a_copy_for_themselves_then_for_their_ward(make_chat, make_uow):
    chat = make_chat()
    await chat.say("hi")
    reply = await chat.say("send me my data")
    assert "Who is this for?" in reply.text
    reply = await chat.choose("(me)")
    assert "copy of the data it holds about you" in reply.text
    assert "contact you to check it is you" in reply.text
    reply = await chat.choose("Yes, ask the clinic")
    assert "passed to the clinic" in reply.text
    reply = await chat.say("please send me Leo's data")
    assert "copy of the data it holds about Leo" in reply.text
    await chat.choose("Yes")
    maya, leo = await _patient_id(make_uow, "maya"), await _patient_id(make_uow, "leo")
    tasks = await _tasks(make_uow)
    assert tasks == [(maya, "copy", maya, None), (leo, "copy", maya, None)]
    async with make_uow(readonly=True) as uow:
        alerts = (await uow.session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "data_request")
            .order_by(OutboxMessage.id))).all()
        assert len(alerts) == 2 and all(a.staff_id is not None for a in alerts)
        texts = [(await notifications.render(uow, await get_clinic(uow), a, translator("en")))
                 for a in alerts]
    assert texts[0] is not None and "Maya Chen (patient 1) asked for a copy" in texts[0].text
    assert texts[1] is not None and "Leo Chen (patient 2) asked for a copy" in texts[1].text
    assert "Asked by their guardian Maya Chen (patient 1)" in texts[1].text


@pytest.mark.parametrize(("language", "ask", "confirm", "again"), [
    ("en", "Please delete my data", "Yes", "forget me"),
    ("es", "Por favor borren mis datos", "Sí", "olvídame"),
    ("fr", "Supprimez mes données s'il vous plaît", "Oui", "oubliez-moi"),
])
async def test_a_request_to_be_forgotten_is_one_task_a_day(
        make_chat, make_uow, clock, language, ask, confirm, again):
    chat = make_chat(SOFIA)  # Sofía manages nobody: no "who is this for?"
    await chat.say("hola")
    if language != "es":
        await chat.choose("Idioma")
        await chat.choose({"en": "English", "fr": "Français"}[language])
    reply = await chat.say(ask)
    assert reply.options and len(reply.options) == 2, chat.transcript
    await chat.say(confirm)
    await chat.say(again)
    reply = await chat.say(confirm)
    tasks = await _tasks(make_uow)
    sofia = await _patient_id(make_uow, "sofia")
    assert tasks == [(sofia, "erase", sofia, None)], chat.transcript
    async with make_uow(readonly=True) as uow:
        still = await uow.session.get(Patient, sofia)
        assert still is not None and still.first_name == "Sofía"  # nothing erased by chat
    clock.advance(timedelta(days=1))
    await chat.say(again)
    await chat.say(confirm)
    assert len(await _tasks(make_uow)) == 2


async def test_saying_no_asks_nothing(make_chat, make_uow):
    chat = make_chat(SOFIA)
    await chat.say("hola")
    await chat.say("olvídame")
    await chat.say("no")
    assert await _tasks(make_uow) == []
