"""Issue 16's traps on Telegram through the real Application and the Bot API stand-in.

Typed words, not only buttons: yes/no in the patient's language (item 2), opting out mid-dialog
(1), HELP (8). The clock is Monday 2 November 2026, 08:00 in Toronto; Maya (+1 416 555 0101)
writes in English, then French; Sofía (+1 416 555 0102) in Spanish.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from bot.storage.models import Appointment
from tests.e2e.telegram_harness import Telegram, TgUser, telegram_server


@pytest.fixture
async def tg(clinic: None, database_url: str, clock) -> AsyncIterator[Telegram]:
    async with telegram_server(database_url, clock, mode="polling") as player:
        yield player


async def _linked(tg, user_id: int, name: str, phone: str, language: str) -> TgUser:
    user = TgUser(tg, user_id, name, language_code=language)
    await user.say("/start")
    await user.share_contact(phone)
    return user


async def test_typed_si_oui_and_call_it_off_on_telegram(tg, make_uow):
    sofia = await _linked(tg, 7101, "Sofía", "+14165550102", "es")
    await sofia.press("Reservar")
    await sofia.press("Physiotherapy follow-up")
    while not any("mar 3 nov" in label for label in sofia.labels):
        await sofia.press(sofia.labels[0])
    await sofia.press("mar 3 nov")
    await sofia.say("10:00")
    assert "Reservado para el mar 3 nov" in await sofia.say("sí")
    maya = await _linked(tg, 7102, "Maya", "+14165550101", "en")
    await maya.say("/language")
    await maya.press("Français")
    await maya.say("/book")
    await maya.press("Maya")
    await maya.press("Physio")
    await maya.press("mar. 3 nov")
    await maya.say("11:00")
    assert "Réservé pour le mar. 3 nov" in await maya.say("Oui")
    await maya.say("/appointments")
    await maya.press("Maya")
    await maya.press("mar. 3 nov")
    assert maya.labels[0] == "L'annuler"
    await maya.press("L'annuler")
    assert "Annulé" in await maya.say("OUI")
    async with make_uow() as uow:
        statuses = (await uow.session.scalars(
            select(Appointment.status).order_by(Appointment.id))).all()
    assert list(statuses) == ["booked", "cancelled"]


async def test_quit_mid_dialog_and_help_on_telegram(tg):
    maya = await _linked(tg, 7103, "Maya", "+14165550101", "en")
    await maya.press("Book an appointment")
    reply = await maya.say("QUIT")
    assert "Nothing was booked or called off." in reply and "START" in reply
    assert "Reminders and invoices are off" in await maya.say("/menu")
    reply = await maya.say("/help")
    assert "(416) 555-0100" in reply and reply.count("STOP") == 1
    assert "You will get our messages again." in await maya.say("START")
    sofia = await _linked(tg, 7104, "Sofía", "+14165550102", "es")
    reply = await sofia.say("ayuda")
    assert "teléfono (416) 555-0100" in reply and reply.count("STOP") == 1


async def test_language_names_mid_sentence_on_telegram(tg):
    sofia = await _linked(tg, 7105, "Sofía", "+14165550102", "es")
    await sofia.say("/language")
    assert "Español" in sofia.labels
    assert "Desde ahora le hablaré en español." in await sofia.press("Español")


async def test_parts_of_the_day_and_a_typed_time_on_telegram(tg, make_uow):
    maya = await _linked(tg, 7106, "Maya", "+14165550101", "en")
    await maya.press("Book an appointment")
    await maya.press("Maya")
    await maya.press("Physio 5-pack")
    reply = await maya.press("Tue 3 Nov")
    assert "Choose a part of the day" in reply
    assert maya.labels == ["Morning: 9:00 a.m. to 11:45 a.m.",
                           "Afternoon: 12:00 p.m. to 4:30 p.m.", "Another day",
                           "Tell me if something opens"]
    await maya.press("Afternoon")
    assert maya.labels[0] == "12:00 p.m." and maya.labels[-2:] == [
        "Tell me if something opens", "More"], "the waitlist is never behind More"
    await maya.press("More")
    assert maya.labels[0] == "2:15 p.m.", "the next ten afternoon times"
    await maya.say("back")
    reply = await maya.say("3pm")
    assert "Please check your booking" in reply and "Tue 3 Nov, 3:00 p.m." in reply
    assert "Booked for Tue 3 Nov, 3:00 p.m." in await maya.say("yes")
    sofia = await _linked(tg, 7107, "Sofía", "+14165550102", "es")
    await sofia.press("Reservar")
    await sofia.press("Physiotherapy follow-up")
    await sofia.press("Downtown")
    await sofia.press("mar 3 nov")
    assert sofia.labels[:2] == ["Mañana: de 09:00 a 11:45", "Tarde: de 12:00 a 16:30"]
    assert "Revise su reserva" in await sofia.say("15h")
