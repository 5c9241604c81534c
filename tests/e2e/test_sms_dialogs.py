"""Whole conversations by SMS through the real server: register, buy, book, cancel, HELP, STOP.

Each test starts ``create_app`` under uvicorn on a loopback port (SQLite file, and PostgreSQL
when CLINICBOT_TEST_POSTGRES_URL is set) with the example clinic loaded, and texts it the way
Twilio delivers texts: signed for https://clinic.example (a proxy's public URL) while the
request goes to 127.0.0.1. The clock is Monday 2 November 2026, 08:00 in Toronto.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.dialogs.gsm import to_gsm
from bot.storage.models import Appointment, Conversation, Invoice, Patient, PatientPackage
from tests.dialogs.conftest import MAYA, SOFIA, STRANGER
from tests.e2e.sms_harness import SmsPatient, Twilio, messages, sms_server


@pytest.fixture
async def twilio(clinic: None, database_url: str, clock) -> AsyncIterator[Twilio]:
    async with sms_server(database_url, clock) as player:
        yield player


async def _patient(make_uow, phone: str) -> Patient | None:
    async with make_uow() as uow:
        found = await uow.session.scalar(select(Patient).where(Patient.phone == phone))
        uow.session.expunge_all()
        return found


async def test_a_stranger_registers_by_sms(twilio, make_uow):
    stranger = SmsPatient(twilio, STRANGER)
    assert "first name" in await stranger.say("Hello?")
    assert "last name" in await stranger.say("Ada")
    assert "date of birth" in await stranger.say("Lovelace")
    reply = await stranger.say("1990-12-10")
    assert "Ada Lovelace" in reply and stranger.labels == ["Yes", "No"]
    reply = await stranger.choose("Yes")
    assert "You are registered" in reply and "1) Book an appointment" in reply
    new = await _patient(make_uow, STRANGER)
    assert new is not None and new.online_registration
    assert (new.first_name, new.last_name) == ("Ada", "Lovelace")


async def test_maya_buys_a_package_by_sms(twilio, make_uow):
    maya = SmsPatient(twilio, MAYA)
    assert "Hi Maya!" in await maya.say("hi")
    await maya.choose("Buy a package")
    await maya.choose("Maya Chen (me)")
    reply = await maya.choose("Massage 10-pack")
    assert "$990.00" in reply
    await maya.choose("Buy it")
    reply = await maya.choose("Pay at the clinic")
    assert "front desk" in reply
    async with make_uow() as uow:
        maya_id = await uow.session.scalar(select(Patient.id).where(Patient.key == "maya"))
        owned = (await uow.session.scalars(
            select(PatientPackage).where(PatientPackage.patient_id == maya_id))).all()
        assert len(owned) == 2, "the example's physio pack and the new massage pack"
        invoices = await uow.session.scalar(
            select(func.count()).select_from(Invoice).where(Invoice.patient_id == maya_id))
        assert invoices >= 3, "the 3-installment massage pack is invoiced"


async def test_maya_books_then_cancels_by_sms(twilio, make_uow):
    maya = SmsPatient(twilio, MAYA)
    await maya.say("hi")
    await maya.choose("Book an appointment")
    await maya.choose("Maya")
    await maya.choose("Physio 5-pack")
    assert "Which day?" in "\n".join(maya.last)
    await maya.choose("Tue 3 Nov")
    await maya.choose("Morning")
    reply = await maya.choose("10:00 a.m.")
    assert "Tue 3 Nov, 10:00 a.m." in reply
    reply = await maya.choose("Confirm")
    assert "Booked for Tue 3 Nov, 10:00 a.m." in reply
    async with make_uow() as uow:
        [appointment] = (await uow.session.scalars(select(Appointment))).all()
        assert appointment.status == "booked"
        assert appointment.starts_at == datetime(2026, 11, 3, 15, 0, tzinfo=UTC)

    await maya.choose("My appointments")
    await maya.choose("Maya")
    await maya.choose("Tue 3 Nov")
    await maya.choose("Call it off")
    reply = await maya.choose("Yes, call it off")
    assert "Cancelled." in reply and "3 left" in reply
    async with make_uow() as uow:
        [appointment] = (await uow.session.scalars(select(Appointment))).all()
        assert appointment.status == "cancelled"


async def test_help_names_the_clinic_its_phone_and_how_to_stop(twilio):
    sofia = SmsPatient(twilio, SOFIA)
    await sofia.say("hola")
    for word in ("HELP", "help"):
        reply = await sofia.say(word)
        assert "Harbour Physio & Wellness" in reply and "(416) 555-0100" in reply
        assert reply.count("STOP") == 1
    stranger = SmsPatient(twilio, STRANGER)
    reply = await stranger.say("HELP")
    assert "Harbour Physio & Wellness" in reply and "STOP" in reply
    assert "first name" in reply, "and then the registration starts"


async def test_stop_by_opt_out_type_and_start_again(twilio, make_uow):
    # Twilio Advanced Opt-Out may classify any word as STOP or START: OptOutType decides.
    [reply] = messages(await twilio.text(SOFIA, "please no more texts", OptOutType="STOP"))
    assert "START" in reply, "the opt-out is confirmed with how to undo it"
    assert (await _patient(make_uow, SOFIA)).opted_out
    # "volver" alone would mean BACK; classified as START it opts back in.
    messages(await twilio.text(SOFIA, "volver", OptOutType="START"))
    assert not (await _patient(make_uow, SOFIA)).opted_out
    maya = SmsPatient(twilio, MAYA)
    await maya.say("hi")
    await maya.say("UNSUBSCRIBE")
    assert (await _patient(make_uow, MAYA)).opted_out


async def test_every_message_is_one_conversation_per_phone(twilio, make_uow):
    await SmsPatient(twilio, MAYA).say("hi")
    await SmsPatient(twilio, SOFIA).say("hola")
    async with make_uow() as uow:
        rows = (await uow.session.scalars(select(Conversation).order_by(Conversation.address)))
        assert [(c.channel, c.address) for c in rows] == [("sms", MAYA), ("sms", SOFIA)]


@pytest.mark.parametrize(("locale", "note", "greeting"), [
    ("en_CA", "It has been a while, so let's start again.", "What would you like to do?"),
    ("es", "Ha pasado un rato, así que empecemos de nuevo.", "¿Qué desea hacer?"),
    ("fr", "Cela fait un moment, alors reprenons depuis le début.", "Que voulez-vous faire?"),
])
async def test_a_text_days_later_starts_from_the_menu(twilio, make_uow, clock, locale, note,
                                                       greeting):
    async with make_uow() as uow:
        maya = await uow.session.scalar(select(Patient).where(Patient.phone == MAYA))
        maya.locale = locale
        await uow.commit()
    patient = SmsPatient(twilio, MAYA)
    await patient.say("hi")
    await patient.say("1")  # book
    await patient.say("1")  # for Maya
    before = await patient.say("1")  # with her package: which day?
    assert greeting not in before
    clock.advance(timedelta(days=3))
    reply = await patient.say("1")
    assert reply.startswith(note) and greeting in reply
    assert "1) " in reply and len(patient.labels) == 7, "the main menu"
    async with make_uow() as uow:
        row = await uow.session.scalar(select(Conversation).where(Conversation.address == MAYA))
        assert (row.dialog, row.step) == ("menu", "start") and "data" not in row.state


VIEWS = {  # what Maya reads in each language (issue 16 items 5-7)
    "en_CA": ("Physio 5-pack: 3 left, until Mar 30, 2027", "2 sessions before online records",
              "November 2 10:00 a.m.", "Mon 2 Nov, 10:00 a.m.", "Next installments:",
              "Massage 10-pack, payment 3 of 3: $330.00, due Nov 15, 2026"),
    "es": ("Physio 5-pack: quedan 3, hasta el 30 mar 2027",
           "2 sesiones antes de los registros en línea", "2 de noviembre 10:00", "lun 2 nov, 10:00",
           "Próximos plazos:", "Massage 10-pack, pago 3 de 3: 330,00\xa0CAD, vence el 15 nov 2026"),
    "fr": ("Physio 5-pack : 3 restantes, jusqu'au 30 mars 2027",
           "2 séances avant les dossiers en ligne", "2 novembre 10:00", "lun. 2 nov., 10:00",
           "Prochains versements :",
           "Massage 10-pack, versement 3 sur 3 : 330,00\xa0$CA, dû le 15 nov. 2026"),
}


@pytest.mark.parametrize("locale", list(VIEWS))
async def test_packages_booking_with_one_and_installments_by_sms(twilio, make_uow, locale):
    listed, earlier, example, chosen, coming, third = VIEWS[locale]
    async with make_uow() as uow:
        maya = await uow.session.scalar(select(Patient).where(Patient.phone == MAYA))
        maya.locale = locale
        await uow.commit()
    patient = SmsPatient(twilio, MAYA)
    await patient.say("hi")
    await patient.say("2")  # My packages
    await patient.say("1")  # for Maya
    assert patient.labels == [listed]
    page = await patient.say("1")
    assert earlier in page and page.count(earlier[2:]) == 1, "earlier uses on one line"
    day = await patient.say("1")  # Book with this package: no "use your package?" question
    assert patient.labels[0].split()[1] == "2" and example in day
    confirm = await patient.say(example)
    assert chosen in confirm
    await patient.say("MENU")
    await patient.say("5")  # Memberships and invoices
    reply = await patient.say("2")  # for Leo: installment 2 is overdue, 3 comes next
    assert coming in reply and to_gsm(third) in reply.split("\n"), "no-break spaces sent as GSM-7"
    assert "2026-" not in reply and "((" not in reply and "(2/3)" not in reply


async def test_a_request_in_one_message_books_by_sms_in_two_more(twilio, make_uow):
    """Issue 16 item 10: the treatment, practitioner, package and time are read from one text;
    the confirmation comes before anything is booked."""
    maya = SmsPatient(twilio, MAYA)
    reply = await maya.say("book a physio follow-up with Ana on Tuesday at 10am")
    assert "Please check your booking:" in reply and "Tue 3 Nov, 10:00 a.m." in reply
    assert "Uses 1 of your Physio 5-pack" in reply
    async with make_uow() as uow:
        assert (await uow.session.scalars(select(Appointment))).all() == []
    reply = await maya.choose("Confirm")
    assert "Booked for Tue 3 Nov, 10:00 a.m." in reply
    reply = await maya.say("how many sessions do I have left?")
    assert "Physio 5-pack" in reply
    sofia = SmsPatient(twilio, SOFIA)
    reply = await sofia.say("quiero un masaje con Ben el miércoles a las 9")
    assert "9:00" in reply and "Ben Okafor" in reply
    await sofia.choose("Confirmar")
    async with make_uow() as uow:
        starts = sorted(a.starts_at for a in (await uow.session.scalars(select(Appointment))))
        assert starts == [datetime(2026, 11, 3, 15, 0, tzinfo=UTC),
                          datetime(2026, 11, 4, 14, 0, tzinfo=UTC)]
