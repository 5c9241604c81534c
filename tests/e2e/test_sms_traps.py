"""Issue 16's traps by SMS through the real server, in English, Spanish and French.

Opt-out words are never offered and opting out says what stops (item 1); yes/no/back/more in
the patient's language (2); paging and GSM-7 (3); HELP (8); translation slips (9). The clock
is Monday 2 November 2026, 08:00 in Toronto; Maya writes in English (French after choosing
it), Sofía in Spanish.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from bot.handlers.sms_text import is_gsm7, segments
from bot.storage.models import Appointment, Patient
from tests.dialogs.conftest import MAYA, SOFIA
from tests.e2e.sms_harness import SmsPatient, Twilio, sms_server


@pytest.fixture
async def twilio(clinic: None, database_url: str, clock) -> AsyncIterator[Twilio]:
    async with sms_server(database_url, clock) as player:
        yield player


async def _opted_out(make_uow, phone: str) -> bool:
    async with make_uow() as uow:
        return bool(await uow.session.scalar(
            select(Patient.opted_out).where(Patient.phone == phone)))


async def _statuses(make_uow) -> list[str]:
    async with make_uow() as uow:
        return list((await uow.session.scalars(
            select(Appointment.status).order_by(Appointment.id))).all())


async def _french(patient: SmsPatient) -> None:
    await patient.say("menu")
    await patient.choose("Language")
    await patient.choose("Français")


async def test_quit_mid_booking_then_the_menu_and_start_in_three_languages(twilio, make_uow):
    maya = SmsPatient(twilio, MAYA)
    await maya.say("hi")
    await maya.choose("Book an appointment")
    reply = await maya.say("quit")
    assert "Nothing was booked or called off." in reply
    assert "no appointment reminders and no invoices" in reply and "START" in reply
    assert await _opted_out(make_uow, MAYA)
    assert "Reminders and invoices are off. Send START" in await maya.say("menu")
    assert "You will get our messages again." in await maya.say("START")
    assert not await _opted_out(make_uow, MAYA)
    sofia = SmsPatient(twilio, SOFIA)
    await sofia.say("hola")
    await sofia.choose("Reservar")
    reply = await sofia.say("BAJA")
    assert "No se reservó ni se anuló nada." in reply and "START" in reply
    assert "Recordatorios y facturas desactivados" in await sofia.say("menu")
    await _french(maya)
    await maya.choose("Prendre rendez-vous")
    reply = await maya.say("Arrêt")
    assert "Rien n'a été réservé ni annulé." in reply and "ni rappels" in reply
    assert "Rappels et factures désactivés" in await maya.say("menu")


async def test_calling_off_and_confirming_in_the_patients_words(twilio, make_uow):
    sofia = SmsPatient(twilio, SOFIA)
    await sofia.say("hola")
    await sofia.choose("Reservar")
    await sofia.choose("Physiotherapy follow-up")
    while "mar 3 nov" not in " ".join(sofia.labels):
        await sofia.say("1")
    await sofia.choose("mar 3 nov")
    await sofia.say("10:00")
    assert "Reservado para" in await sofia.say("sí")
    await sofia.choose("Mis citas")
    await sofia.choose("mar 3 nov")
    assert "Anularla" in sofia.labels and not any("ancel" in label for label in sofia.labels)
    await sofia.say("anularla")
    assert "Cancelada" in await sofia.say("Si")
    maya = SmsPatient(twilio, MAYA)
    await _french(maya)
    await maya.choose("Prendre rendez-vous")
    await maya.choose("Maya")
    await maya.choose("Physio")
    await maya.choose("mar. 3 nov")
    await maya.say("10:00")
    assert "Réservé pour le mar. 3 nov" in await maya.say("OUI")
    await maya.choose("Mes rendez-vous")
    await maya.choose("Maya")
    await maya.choose("mar. 3 nov")
    await maya.say("l'annuler")
    await maya.say("non")
    assert maya.labels[0].startswith("mar. 3 nov")
    assert await _statuses(make_uow) == ["cancelled", "booked"]


@pytest.mark.parametrize(("phone", "french", "expected"), [
    (MAYA, False, "Harbour Physio & Wellness, phone (416) 555-0100."),
    (SOFIA, False, "Harbour Physio & Wellness, teléfono (416) 555-0100."),
    (MAYA, True, "Harbour Physio & Wellness, téléphone (416) 555-0100."),
])
async def test_help_names_the_clinic_its_national_phone_and_stop_once(twilio, phone, french,
                                                                      expected):
    patient = SmsPatient(twilio, phone)
    await patient.say("hi")
    if french:
        await _french(patient)
    reply = await patient.say("HELP")
    assert expected in reply and reply.count("STOP") == 1


async def test_translation_slips_by_sms(twilio):
    sofia = SmsPatient(twilio, SOFIA)
    await sofia.say("hola")
    await sofia.choose("Idioma")
    assert "Desde ahora le hablaré en español." in await sofia.choose("Español")
    maya = SmsPatient(twilio, MAYA)
    await _french(maya)
    await maya.choose("Prendre rendez-vous")
    await maya.choose("Maya")
    await maya.choose("Physio")
    reply = await maya.say("dimanche")
    assert "le dim. 8 nov. Le prochain jour" in reply and ".." not in reply


async def _shapes(patient: SmsPatient, day: str, book: str,
                  who: str | None) -> dict[str, list[str]]:
    """The main menu and a booking's confirmation as the patient's phone receives them."""
    await patient.say("menu")
    shapes = {"menu": list(patient.last)}
    await patient.choose(book)
    if who:
        await patient.choose(who)
    await patient.choose("Physio")
    if "Downtown" in " ".join(patient.labels):
        await patient.choose("Downtown")
    await patient.choose(day)
    shapes["parts"] = list(patient.last)
    await patient.say("10:00")
    shapes["confirmation"] = list(patient.last)
    return shapes


@pytest.mark.parametrize("language", ["en", "es", "fr"])
async def test_the_menu_and_a_confirmation_are_one_message_each(twilio, language):
    patient = SmsPatient(twilio, SOFIA if language == "es" else MAYA)
    await patient.say("hi")
    if language == "fr":
        await _french(patient)
    day = {"en": "Tue 3 Nov", "es": "mar 3 nov", "fr": "mar. 3 nov."}[language]
    book = {"en": "Book an appointment", "es": "Reservar", "fr": "Prendre rendez-vous"}[language]
    shapes = await _shapes(patient, day, book, None if language == "es" else "Maya")
    for what, messages in shapes.items():
        assert len(messages) == 1, (what, messages)
        assert segments(messages[0]) <= 3
    confirmation = shapes["confirmation"][0]
    assert "\xa0" not in confirmation and is_gsm7(confirmation), "no no-break space in money"
    assert segments(confirmation) <= 2
    if language != "es":  # Sofía's own name has an í: her menu is UCS-2, in 3 segments
        assert is_gsm7(shapes["menu"][0]) and segments(shapes["menu"][0]) <= 2


async def test_numbers_keep_their_meaning_across_sms_pages(twilio):
    sofia = SmsPatient(twilio, SOFIA)
    await sofia.say("hola")
    await sofia.choose("Reservar")
    await sofia.choose("Physiotherapy follow-up")
    await sofia.choose("Downtown")
    await sofia.choose("mar 3 nov")
    first = await sofia.choose("Tarde")
    assert first.endswith("\n0) Más") and "\n1) 12:00" in first
    last_number = int(sofia.choices[-2][0])
    second = await sofia.say("0")
    assert f"\n{last_number + 1}) " in second and "\n1) " not in second
    assert "Revise su reserva" in await sofia.say("1") and "12:00" in "\n".join(sofia.last)
