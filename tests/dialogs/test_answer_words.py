"""Yes, no, back and more in the patient's language and in English (issue 16, item 2).

The clock is Monday 2 November 2026, 08:00 in Toronto. Maya (en_CA) has a Physio 5-pack;
Sofía writes in Spanish; Maya switches to French from the Language menu.
"""

from __future__ import annotations

from tests.dialogs.conftest import SOFIA
from tests.dialogs.test_appointments import TUE_10AM, book, row
from tests.dialogs.test_book import booked


async def to_confirm(chat, book_label: str, day: str, time: str) -> None:
    """From the menu to the booking's confirmation (first treatment / practitioner offered)."""
    await chat.say("menu")
    await chat.choose(book_label)
    while chat.labels and day not in chat.labels:
        if any("(me)" in label or "(yo)" in label or "(moi)" in label for label in chat.labels):
            await chat.say("1")
            continue
        await chat.say("1")
    await chat.choose(day)
    await chat.say(time)  # typed: at the part-of-day step or among the times


async def test_sofia_confirms_with_si_with_or_without_the_accent(make_chat, make_uow):
    sofia = make_chat(SOFIA)
    await sofia.say("hola")
    for word in ("Sí", "si", "SÍ"):
        await to_confirm(sofia, "Reservar", "mar 3 nov", "10:00")
        assert "Confirmar" in sofia.labels, sofia.transcript[-1]
        reply = await sofia.say(word)
        assert "Reservado para" in reply.text, sofia.transcript
        await sofia.say("menu")
        await sofia.choose("Mis citas")
        await sofia.choose("mar 3 nov")
        await sofia.choose("Anularla")
        reply = await sofia.say(word)
        assert "Cancelada" in reply.text, sofia.transcript
    assert [a.status for a in await booked(make_uow, "sofia")] == ["cancelled"] * 3


async def test_french_oui_non_retour_and_english_yes(chat, make_uow):
    await chat.say("hi")
    await chat.choose("Language")
    await chat.choose("Français")
    appointment_id = await book(make_uow, "maya", TUE_10AM)
    await chat.say("menu")
    await chat.choose("Mes rendez-vous")
    await chat.choose("Maya")
    await chat.choose("mar. 3 nov")
    await chat.choose("L'annuler")
    reply = await chat.say("NON")
    assert chat.labels[0].startswith("mar. 3 nov"), "non keeps it and lists the appointments"
    await chat.choose("mar. 3 nov")
    await chat.choose("L'annuler")
    reply = await chat.say("Retour")
    assert "L'annuler" in chat.labels
    await chat.choose("L'annuler")
    reply = await chat.say("Yes")
    assert "Annulé" in reply.text or "annulé" in reply.text, chat.transcript
    assert (await row(make_uow, appointment_id))[0] == "cancelled"


async def test_english_words_and_atras_work_for_a_spanish_patient(make_chat):
    sofia = make_chat(SOFIA)
    await sofia.say("hola")
    await to_confirm(sofia, "Reservar", "mar 3 nov", "10:00")
    reply = await sofia.say("atrás")
    assert "Tarde: de 12:00 a 16:00" in sofia.labels, "back to the parts of the day"
    await sofia.choose("Mañana")
    await sofia.choose("10:00")
    reply = await sofia.say("OK")
    assert "Reservado para" in reply.text


async def test_mas_and_plus_show_the_next_page(make_chat, chat):
    sofia = make_chat(SOFIA)
    await sofia.say("hola")
    await to_confirm(sofia, "Reservar", "mar 3 nov", "10:00")
    await sofia.say("atrás")
    await sofia.choose("Tarde")
    first = sofia.labels
    assert first[-1] == "Más"
    reply = await sofia.say("Más")
    assert sofia.labels != first and "no es una" not in reply.text
    await chat.say("hi")
    await chat.choose("Language")
    await chat.choose("Français")
    await chat.say("menu")
    await chat.choose("Prendre rendez-vous")
    await chat.choose("Maya")
    await chat.choose("Physio")
    await chat.choose("mar. 3 nov")
    await chat.choose("Après-midi")
    first = chat.labels
    assert first[-1] == "Plus"
    await chat.say("plus")
    assert chat.labels != first
