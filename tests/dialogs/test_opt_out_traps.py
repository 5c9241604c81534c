"""Opt-out words never hide in a choice, and opting out says what stops (issue 16, item 1).

The clock is Monday 2 November 2026, 08:00 in Toronto. Maya (en_CA) has a Physio 5-pack;
Sofia writes in Spanish; French is chosen from the Language menu.
"""

from __future__ import annotations

from sqlalchemy import select

from bot.storage.models import Appointment, Patient
from tests.dialogs.conftest import SOFIA
from tests.dialogs.test_appointments import TUE_10AM, book, open_appointments


async def _opted_out(make_uow, phone: str) -> bool:
    async with make_uow() as uow:
        found = await uow.session.scalar(select(Patient.opted_out).where(Patient.phone == phone))
        return bool(found)


async def test_calling_off_by_its_words_cancels_the_appointment(chat, make_uow):
    appointment_id = await book(make_uow, "maya", TUE_10AM)
    await open_appointments(chat)
    await chat.choose("Tue 3 Nov")
    assert chat.labels == ["Call it off", "Reschedule", "Back"]
    reply = await chat.say("call it off")
    assert "Call off this appointment?" in reply.text
    assert chat.labels == ["Yes, call it off", "No, keep it"]
    reply = await chat.say("yes, call it off")
    assert "Cancelled." in reply.text and not chat.outcome.opted_out
    async with make_uow() as uow:
        assert (await uow.session.get(Appointment, appointment_id)).status == "cancelled"


async def test_quit_mid_booking_says_what_stops_and_the_menu_shows_it(chat, make_uow):
    await chat.say("hi")
    await chat.choose("Book an appointment")
    reply = await chat.say("QUIT")
    assert chat.outcome.opted_out and await _opted_out(make_uow, chat.phone)
    assert reply.text.startswith("Nothing was booked or called off.")
    assert "no appointment reminders and no invoices" in reply.text
    assert "Send START to get them again." in reply.text
    reply = await chat.say("menu")
    assert reply.text.startswith("Reminders and invoices are off. Send START to turn them on.")
    reply = await chat.say("start")
    assert "You will get our messages again." in reply.text
    assert "Reminders and invoices are off" not in reply.text
    assert not await _opted_out(make_uow, chat.phone)


async def test_stop_at_the_menu_does_not_claim_a_dialog_was_interrupted(chat):
    await chat.say("hi")
    reply = await chat.say("stop")
    assert "no appointment reminders" in reply.text and "Nothing was booked" not in reply.text


async def test_opting_out_in_spanish_and_french_says_what_stops(make_chat, make_uow):
    sofia = make_chat(SOFIA)
    await sofia.say("hola")
    await sofia.choose("Reservar")
    reply = await sofia.say("baja")
    assert "No se reservó ni se anuló nada." in reply.text
    assert "ni recordatorios de citas ni facturas" in reply.text and "START" in reply.text
    reply = await sofia.say("menu")
    assert "Recordatorios y facturas desactivados" in reply.text
    maya = make_chat()
    await maya.say("hi")
    await maya.choose("Language")
    await maya.choose("Français")
    reply = await maya.say("ARRÊT")
    assert "ni rappels de rendez-vous ni factures" in reply.text and "START" in reply.text
    reply = await maya.say("menu")
    assert "Rappels et factures désactivés" in reply.text
    reply = await maya.say("START")
    assert "désactivés" not in reply.text and not await _opted_out(make_uow, maya.phone)
