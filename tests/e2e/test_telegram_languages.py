"""Issue 16 items 1, 2, 3, 6, 8, 9, 10 and 11 on Telegram in English, Spanish and French.

Through the real Application and the Bot API stand-in (long polling). Maya (+1 416 555 0101, a
Physio 5-pack, guardian of Leo) links her phone, then speaks the locale set on her record. The
clock is Monday 2 November 2026, 08:00 in Toronto.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select
from telegram import Bot

from bot.delivery.channels import Channels
from bot.delivery.sender import Deliverer
from bot.handlers.telegram_channel import TelegramChannel
from bot.services import closures
from bot.storage.models import Appointment, Patient
from tests.dialogs.test_appointments import TUE_10AM, book
from tests.dialogs.test_book_closed import close
from tests.e2e.telegram_harness import Telegram, TgUser, telegram_server
from tests.e2e.telegram_standin import TOKEN

LOCALES = {"en": "en_CA", "es": "es", "fr": "fr"}
BOOK = {"en": "Book an appointment", "es": "Reservar", "fr": "Prendre rendez-vous"}
DAY = {"en": "Tue 3 Nov", "es": "mar 3 nov", "fr": "mar. 3 nov"}


@pytest.fixture
async def tg(clinic: None, database_url: str, clock) -> AsyncIterator[Telegram]:
    async with telegram_server(database_url, clock, mode="polling") as player:
        yield player


async def _maya(tg: Telegram, make_uow, language: str) -> TgUser:
    """Maya linked on Telegram, speaking ``language``, at the main menu."""
    maya = TgUser(tg, 7301, "Maya", language_code=language)
    await maya.say("/start")
    await maya.share_contact("+14165550101")
    async with make_uow() as uow:
        found = await uow.session.scalar(select(Patient).where(Patient.key == "maya"))
        found.locale = LOCALES[language]
        await uow.commit()
    await maya.say("/menu")
    return maya


async def _starts(make_uow) -> list[datetime]:
    async with make_uow() as uow:
        return sorted(a.starts_at for a in (await uow.session.scalars(select(Appointment))))


OPT_OUT = {  # item 1: an opt-out word mid-booking says what stops and how to undo it
    "en": ("QUIT", "Nothing was booked or called off.", "Reminders and invoices are off",
           "You will get our messages again."),
    "es": ("BAJA", "No se reservó ni se anuló nada.", "Recordatorios y facturas desactivados",
           "Volverá a recibir nuestros mensajes."),
    "fr": ("Arrêt", "Rien n'a été réservé ni annulé.", "Rappels et factures désactivés",
           "Vous recevrez à nouveau nos messages."),
}
HELP = {  # item 8
    "en": "Harbour Physio & Wellness, phone (416) 555-0100.",
    "es": "Harbour Physio & Wellness, teléfono (416) 555-0100.",
    "fr": "Harbour Physio & Wellness, téléphone (416) 555-0100.",
}


async def _opted_out(make_uow) -> bool:
    async with make_uow() as uow:
        return bool(await uow.session.scalar(
            select(Patient.opted_out).where(Patient.key == "maya")))


@pytest.mark.parametrize("language", list(LOCALES))
async def test_opting_out_mid_booking_and_help_on_telegram(tg, make_uow, language):
    word, nothing, menu_note, back = OPT_OUT[language]
    maya = await _maya(tg, make_uow, language)
    await maya.press(BOOK[language])
    reply = await maya.say(word)
    assert nothing in reply and "START" in reply, reply
    assert await _opted_out(make_uow)
    assert menu_note in await maya.say("/menu")
    reply = await maya.say("/help")
    assert HELP[language] in reply and reply.count("STOP") == 1, reply
    assert back in await maya.say("START")
    assert not await _opted_out(make_uow)


SLIPS = {  # item 9: the language named mid-sentence, counts that agree, no "7 déc.."
    "en": ("English", "I will speak English from now on.", "2 used, 1 booked, 2 available",
           "Sunday", "Sun 8 Nov"),
    "es": ("Español", "Desde ahora le hablaré en español.", "2 usadas, 1 reservada, 2 disponibles",
           "domingo", "dom 8 nov"),
    "fr": ("Français", "Je vous parlerai en français désormais.", "1 réservée, 2 disponibles",
           "dimanche", "le dim. 8 nov. Le prochain jour"),
}
PACKAGES = {"en": "My packages", "es": "Mis paquetes", "fr": "Mes forfaits"}


@pytest.mark.parametrize("language", list(LOCALES))
async def test_language_names_counts_and_dates_read_well_on_telegram(tg, make_uow, language):
    name, spoken, counts, sunday, closed_sunday = SLIPS[language]
    await book(make_uow, "maya", TUE_10AM)
    maya = await _maya(tg, make_uow, language)
    await maya.say("/language")
    reply = await maya.press(name)
    assert spoken in reply, reply
    if language != "en":
        assert name not in reply, "lower case mid-sentence"
    await maya.press(PACKAGES[language])
    await maya.press("Maya")
    reply = await maya.press("Physio")
    assert counts in reply and ".." not in reply, reply
    await maya.say("/book")
    await maya.press("Maya")
    await maya.press("Physio")
    reply = await maya.say(sunday)
    assert closed_sunday in reply and ".." not in reply, reply


REQUESTS = {  # item 10: one message, then the patient's own yes
    "en": ("physio follow-up with Ana tuesday 10am please", "Please check your booking:",
           "Uses 1 of your Physio 5-pack", "yes", "Booked for Tue 3 Nov, 10:00 a.m."),
    "es": ("quiero una cita de fisioterapia de seguimiento con Ana el martes a las 10",
           "Revise su reserva", "Physio 5-pack", "sí", "Reservado para el mar 3 nov, 10:00"),
    "fr": ("je voudrais un suivi kiné avec Ana mardi à 10h", "Vérifiez votre réservation :",
           "Utilise 1 séance de votre Physio 5-pack", "oui",
           "Réservé pour le mar. 3 nov., 10:00"),
}


@pytest.mark.parametrize("language", list(LOCALES))
async def test_a_typed_request_is_confirmed_before_booking_on_telegram(tg, make_uow, language):
    said, check, package, yes, booked = REQUESTS[language]
    maya = await _maya(tg, make_uow, language)
    reply = await maya.say(said)
    assert check in reply and package in reply, reply
    assert await _starts(make_uow) == [], "a guess is never booked silently"
    assert booked in await maya.say(yes)
    assert await _starts(make_uow) == [datetime(2026, 11, 3, 15, 0, tzinfo=UTC)]


PARTS = {  # item 3: a day's times grouped by part of the day, in the patient's words
    "en": ("Wed 4 Nov", "9:00 a.m.", "Thu 5 Nov",
           ["Morning: 9:00 a.m. to 11:45 a.m.", "Afternoon: 12:00 p.m. to 4:30 p.m."], "Tuesday"),
    "es": ("mié 4 nov", "09:00", "jue 5 nov",
           ["Mañana: de 09:00 a 11:45", "Tarde: de 12:00 a 16:30"], "martes"),
    "fr": ("mer. 4 nov", "09:00", "jeu. 5 nov",
           ["Matin : de 09:00 à 11:45", "Après-midi : de 12:00 à 16:30"], "mardi"),
}


async def _physio_days(maya: TgUser, language: str) -> None:
    await maya.say("/book")
    await maya.press("Maya")
    await maya.press("Physio")
    assert not any(DAY[language] in label for label in maya.labels), maya.labels


@pytest.mark.parametrize("language", list(LOCALES))
async def test_a_closed_day_is_never_offered_on_telegram(tg, make_uow, language):
    """Items 11 and 3: the clinic is closed on Tuesday 3 November and after noon on Wednesday;
    Thursday's times come grouped by part of the day."""
    wednesday, first, thursday, parts, tuesday = PARTS[language]
    await close(make_uow, date(2026, 11, 3))
    await close(make_uow, datetime(2026, 11, 4, 17, tzinfo=UTC), datetime(2026, 11, 4, 22,
                                                                           tzinfo=UTC))
    maya = await _maya(tg, make_uow, language)
    await _physio_days(maya, language)
    await maya.press(wednesday)
    assert maya.labels[0] == first and parts[1][:5] not in " ".join(maya.labels), maya.labels
    await _physio_days(maya, language)
    await maya.press(thursday)
    assert maya.labels[:2] == parts, maya.labels
    await _physio_days(maya, language)
    reply = await maya.say(tuesday)
    assert not any(DAY[language] in label for label in maya.labels), reply
    assert not any(label[0].isdigit() for label in maya.labels), reply
    await maya.say("10:00")
    assert await _starts(make_uow) == []


CALL_OFF = {  # items 1 and 2: no opt-out word offered; a typed no keeps it, a typed yes ends it
    "en": ("Call it off", "No", "YES", "Cancelled."),
    "es": ("Anularla", "no", "Sí", "Cancelada"),
    "fr": ("L'annuler", "non", "oui", "Annulé"),
}
OPT_OUT_WORDS = {"cancel", "stop", "quit", "end", "unsubscribe", "baja", "arrêt", "arret"}


async def _statuses(make_uow) -> list[str]:
    async with make_uow() as uow:
        return list((await uow.session.scalars(select(Appointment.status))).all())


async def _call_off(maya: TgUser, language: str, answer: str) -> str:
    label = CALL_OFF[language][0]
    await maya.say("/appointments")
    await maya.press("Maya")
    await maya.press(DAY[language])
    words = {word.casefold().strip(".,!?") for shown in maya.labels for word in shown.split()}
    assert label in maya.labels and not words & OPT_OUT_WORDS, maya.labels
    await maya.press(label)
    return await maya.say(answer)


@pytest.mark.parametrize("language", list(LOCALES))
async def test_calling_off_with_typed_words_on_telegram(tg, make_uow, language):
    _, no, yes, cancelled = CALL_OFF[language]
    await book(make_uow, "maya", TUE_10AM)
    maya = await _maya(tg, make_uow, language)
    reply = await _call_off(maya, language, no)
    assert cancelled not in reply and await _statuses(make_uow) == ["booked"], reply
    reply = await _call_off(maya, language, yes)
    assert cancelled in reply and await _statuses(make_uow) == ["cancelled"], reply


INSTALLMENTS = {  # item 6: what is owed next, dated in the patient's locale, never ISO
    "en": ("Next installments:", "Massage 10-pack, payment 3 of 3: $330.00, due Nov 15, 2026"),
    "es": ("Próximos plazos:",
           "Massage 10-pack, pago 3 de 3: 330,00\xa0CAD, vence el 15 nov 2026"),
    "fr": ("Prochains versements :",
           "Massage 10-pack, versement 3 sur 3 : 330,00\xa0$CA, dû le 15 nov. 2026"),
}


@pytest.mark.parametrize("language", list(LOCALES))
async def test_the_next_installment_is_shown_on_telegram(tg, make_uow, language):
    coming, third = INSTALLMENTS[language]
    maya = await _maya(tg, make_uow, language)
    await maya.say("/invoices")
    reply = await maya.press("Leo")
    assert coming in reply and third in reply.split("\n"), reply
    assert "2026-" not in reply and "((" not in reply and "(2/3)" not in reply


MOVES = {  # item 10: "how many left?" and "move my Tuesday appointment to Thursday afternoon"
    "en": ("how many sessions do I have left?", "Physio 5-pack: 3 left",
           "move my Tuesday appointment to Thursday afternoon", "3:00 p.m.", "Thu 5 Nov", "yes"),
    "es": ("¿cuántas sesiones me quedan?", "Physio 5-pack: quedan 3",
           "cambiar mi cita del martes al jueves por la tarde", "15:00", "jue 5 nov", "sí"),
    "fr": ("combien de séances me reste-t-il ?", "Physio 5-pack : 3 restantes",
           "déplacer mon rendez-vous de mardi à jeudi après-midi", "15:00", "jeu. 5 nov", "oui"),
}


@pytest.mark.parametrize("language", list(LOCALES))
async def test_asking_what_is_left_and_moving_on_telegram(tg, make_uow, language):
    left, listed, move, three_pm, thursday, yes = MOVES[language]
    maya = await _maya(tg, make_uow, language)
    reply = await maya.say(left)
    assert listed in reply or listed in " ".join(maya.labels), (reply, maya.labels)
    await book(make_uow, "maya", TUE_10AM)
    reply = await maya.say(move)
    assert thursday in reply and maya.labels[0].startswith("12:00"), (reply, maya.labels)
    reply = await maya.say("15h")  # a time typed on the afternoon's first page
    assert thursday in reply and three_pm in reply, reply
    assert await _starts(make_uow) == [TUE_10AM], "nothing moves before the patient confirms"
    await maya.say(yes)
    assert await _starts(make_uow) == [datetime(2026, 11, 5, 20, 0, tzinfo=UTC)]


CLOSED = {  # item 11: the desk tells the patients booked in a closure, in their language
    "en": "Harbour Physio & Wellness: we are closed on ",
    "es": "Harbour Physio & Wellness: cerramos ",
    "fr": "Harbour Physio & Wellness : nous sommes fermés ",
}


@pytest.mark.parametrize("language", list(LOCALES))
async def test_a_closure_over_a_booking_is_told_on_telegram(tg, make_uow, engine, clock,
                                                           language):
    await book(make_uow, "maya", TUE_10AM)
    maya = await _maya(tg, make_uow, language)
    async with make_uow() as uow:
        tz = await closures.clinic_zone(uow)
        starts_at, ends_at = closures.span(date(2026, 11, 3), None, tz)
        [closure], booked = await closures.add(uow, starts_at=starts_at, ends_at=ends_at,
                                               reason="Staff training")
        await closures.notify_patients(uow, closure)
        await uow.commit()
    assert len(booked) == 1
    start = len(tg.standin.calls)
    async with Bot(TOKEN, base_url=tg.settings.telegram_api_base_url) as bot:
        await Deliverer(engine, clock, Channels([TelegramChannel(bot)])).run_once()
    told = await tg.wait_for(lambda c: c.chat_id == maya.chat, after=start)
    assert told.text.startswith(CLOSED[language]), told.text
    assert DAY[language].casefold()[-9:] in told.text.casefold() and ".." not in told.text
