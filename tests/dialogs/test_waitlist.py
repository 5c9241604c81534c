"""The waitlist in the chat (issue 19): "Tell me if something opens" from the times of a day,
and leaving the list from "My appointments"; in English, Spanish and French.

The clock is Monday 2 November 2026, 08:00 in Toronto. Maya (en_CA) owns a Physio 5-pack (Ana
at Downtown); Sofía (es) has no package and books Ben's massage at East End.
"""

from __future__ import annotations

from sqlalchemy import select

from bot.storage.models import Patient, PatientPackage, WaitlistEntry
from tests.dialogs.chat import Chat
from tests.dialogs.conftest import MAYA, SOFIA
from tests.dialogs.test_book import start_booking


async def entries(make_uow, key: str) -> list[WaitlistEntry]:
    async with make_uow() as uow:
        who = await uow.session.scalar(select(Patient).where(Patient.key == key))
        rows = list(await uow.session.scalars(
            select(WaitlistEntry).where(WaitlistEntry.patient_id == who.id)))
        uow.session.expunge_all()
        return rows


async def test_tell_me_if_something_opens_then_leave_it_in_my_appointments(chat, make_uow):
    await start_booking(chat)
    await chat.choose("Physio 5-pack")
    await chat.choose("Tue 3 Nov")
    await chat.choose("Morning")
    assert chat.labels[-1] == "Tell me if something opens"
    reply = await chat.choose("Tell me if something opens")
    assert "We can tell you when a time opens. Which day suits you?" in reply.text
    assert chat.labels == ["Any day", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday",
                           "Saturday", "Sunday"]
    reply = await chat.choose("Thursday")
    assert reply.text.startswith("Chosen so far: Thursday. Choose another day, or Done.")
    assert chat.labels[-1] == "Done"
    await chat.choose("Tuesday")
    await chat.choose("Monday")
    reply = await chat.choose("Monday")  # chosen again: taken off
    assert reply.text.startswith("Chosen so far: Tuesday, Thursday.")
    reply = await chat.choose("Done")
    assert "Which part of the day suits you?" in reply.text
    assert chat.labels == ["Any time", "Mornings", "Afternoons", "Evenings"]
    await chat.choose("Evenings")
    await chat.choose("Mornings")
    reply = await chat.choose("Done")
    assert ("We will message you if a time opens for Physiotherapy follow-up with Ana Silva: "
            "Tuesday, Thursday, Mornings, Evenings. The first to answer gets it.") in reply.text
    reply = await chat.choose("Confirm")
    [entry] = await entries(make_uow, "maya")
    async with make_uow() as uow:
        package = await uow.session.get(PatientPackage, entry.package_id)
        expires = package.expires_on
    assert (entry.weekdays, entry.parts, entry.until, entry.status) == (
        [1, 3], ["morning", "evening"], expires, "waiting")
    assert "You are on the waitlist until" in reply.text
    assert "You can leave it in My appointments." in reply.text

    await chat.say("menu")
    await chat.choose("My appointments")
    reply = await chat.choose("Maya")
    assert "There are no upcoming appointments." in reply.text
    assert chat.labels[0].startswith("Waiting: Physiotherapy follow-up with Ana Silva: Tuesday, "
                                     "Thursday, Mornings, Evenings, until")
    reply = await chat.choose("Waiting")
    assert reply.text.startswith("On the waitlist: Physiotherapy follow-up")
    reply = await chat.choose("Leave the waitlist")
    assert "Done: you have left the waitlist." in reply.text
    [entry] = await entries(make_uow, "maya")
    assert entry.status == "left"


async def test_in_spanish_any_day_any_time(make_chat, make_uow):
    sofia = make_chat(SOFIA)
    await sofia.say("hola")
    await sofia.say("1")
    await sofia.choose("Massage therapy 60 min")
    await sofia.choose("lun 2 nov")
    reply = await sofia.choose("Avísenme si se libera algo")
    assert "¿Qué día le conviene?" in reply.text
    await sofia.choose("Cualquier día")
    await sofia.choose("A cualquier hora")
    reply = await sofia.choose("Confirmar")
    assert "Está en la lista de espera hasta el 16 de noviembre." in reply.text
    [entry] = await entries(make_uow, "sofia")
    assert (entry.weekdays, entry.parts, entry.package_id) == ([], [], None)


async def test_in_french(make_chat, make_uow):
    async with make_uow() as uow:
        sofia = await uow.session.scalar(select(Patient).where(Patient.key == "sofia"))
        sofia.locale = "fr"
        await uow.commit()
    chat = make_chat(SOFIA)
    await chat.say("bonjour")
    await chat.say("1")
    await chat.choose("Massage therapy 60 min")
    await chat.choose("lun. 2 nov.")
    reply = await chat.choose("Prévenez-moi si un créneau se libère")
    assert "Quel jour vous convient ?" in reply.text
    await chat.choose("mercredi")
    await chat.choose("Terminé")
    await chat.choose("Le soir")
    await chat.choose("Terminé")
    reply = await chat.choose("Confirmer")
    assert "Vous êtes sur la liste d'attente jusqu'au 16 novembre." in reply.text
    [entry] = await entries(make_uow, "sofia")
    assert (entry.weekdays, entry.parts) == ([2], ["evening"])


async def test_days_and_parts_typed_in_one_answer(chat, make_uow):
    await start_booking(chat)
    await chat.choose("Physio 5-pack")
    await chat.choose("Tue 3 Nov")
    await chat.choose("Morning")
    await chat.choose("Tell me if something opens")
    reply = await chat.say("Tuesdays or Thursdays, mornings or evenings")
    assert ("Physiotherapy follow-up with Ana Silva: Tuesday, Thursday, Mornings, Evenings."
            in reply.text)
    await chat.say("back")
    reply = await chat.say("3 5")  # the numbers of Tuesday and Thursday
    assert "Which part of the day suits you?" in reply.text
    reply = await chat.say("afternoons and evenings")
    assert "Tuesday, Thursday, Afternoons, Evenings." in reply.text
    await chat.choose("Confirm")
    [entry] = await entries(make_uow, "maya")
    assert (entry.weekdays, entry.parts) == ([1, 3], ["afternoon", "evening"])


async def test_in_spanish_typed(make_chat, make_uow):
    sofia = make_chat(SOFIA)
    await sofia.say("hola")
    await sofia.say("1")
    await sofia.choose("Massage therapy 60 min")
    await sofia.choose("lun 2 nov")
    await sofia.choose("Avísenme si se libera algo")
    await sofia.say("los lunes y los miércoles por la tarde")
    await sofia.choose("Confirmar")
    [entry] = await entries(make_uow, "sofia")
    assert (entry.weekdays, entry.parts) == ([0, 2], ["afternoon"])


async def test_on_telegram_the_waitlist_is_on_the_first_page_of_times(bot_engine):
    tg = Chat(bot_engine, channel="telegram", address="7001", phone=MAYA, telegram_user_id=7001)
    await tg.say("hi")
    for label in ("Book an appointment", "Maya", "Physio 5-pack", "Tue 3 Nov", "Afternoon"):
        await tg.press(label)
    assert len(tg.labels) == 11, "9 of the 19 afternoon times, the waitlist and More"
    assert tg.labels[-2:] == ["Tell me if something opens", "More"]
    reply = await tg.press("Tell me if something opens")
    assert "Which day suits you?" in reply.text
    await tg.say("back")
    assert tg.labels[0] == "12:00 p.m." and tg.labels[-1] == "More"
    await tg.press("More")
    assert "Tell me if something opens" not in tg.labels
    assert (tg.labels[0], tg.labels[-2]) == ("2:15 p.m.", "4:30 p.m.")
    await tg.press("More")
    assert tg.labels == ["Another day"]
