"""Translation slips a patient saw (issue 16, item 9): "7 déc..", "Español" mid-sentence,
"1 reservadas". The clock is Monday 2 November 2026, 08:00 in Toronto."""

from __future__ import annotations

from tests.dialogs.conftest import SOFIA
from tests.dialogs.test_appointments import TUE_10AM, book


async def _french(chat) -> None:
    await chat.say("menu")
    await chat.choose("Language")
    await chat.choose("Français")


async def test_language_names_are_lower_case_mid_sentence(make_chat, chat):
    sofia = make_chat(SOFIA)
    await sofia.say("hola")
    await sofia.choose("Idioma")
    assert "Español" in sofia.labels, "a choice keeps its capital"
    reply = await sofia.choose("Español")
    assert "en español" in reply.text and "Español" not in reply.text
    await chat.say("hi")
    await _french(chat)
    assert "Je vous parlerai en français désormais." in chat.transcript[-1]
    await chat.choose("Langue")
    reply = await chat.choose("English")
    assert "I will speak English from now on." in reply.text


async def test_no_double_full_stop_after_an_abbreviated_french_date(chat):
    await chat.say("hi")
    await _french(chat)
    await chat.choose("Prendre rendez-vous")
    await chat.choose("Maya")
    await chat.choose("Physio")
    reply = await chat.say("dimanche")
    assert "le dim. 8 nov. Le prochain jour" in reply.text and "est le lun. 9 nov.\n" in reply.text
    assert ".." not in reply.text


async def test_counts_agree_in_spanish(chat, make_uow):
    await book(make_uow, "maya", TUE_10AM)
    await chat.say("hi")
    await chat.choose("Language")
    await chat.choose("Español")
    await chat.choose("Mis paquetes")
    await chat.choose("Maya")
    reply = await chat.choose("Physio")
    assert "Sesiones: 2 usadas, 1 reservada, 2 disponibles" in reply.text, reply.text
