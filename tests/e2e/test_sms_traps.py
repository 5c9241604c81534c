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
