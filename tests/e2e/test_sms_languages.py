"""Issue 16 items 2, 3, 9, 10 and 11 by SMS through the real server, in English, Spanish and French.

The gaps the other SMS transcripts leave: a typed English "yes", Spanish and French counts and
language names, a typed request in French, and a clinic closure never offered by text. Maya
(+1 416 555 0101, a Physio 5-pack, guardian of Leo) writes in the locale set on her record. The
clock is Monday 2 November 2026, 08:00 in Toronto.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from bot.storage.models import Appointment, Patient
from tests.dialogs.conftest import MAYA
from tests.dialogs.test_appointments import TUE_10AM, book
from tests.dialogs.test_book_closed import close
from tests.e2e.sms_harness import SmsPatient, Twilio, sms_server

LOCALES = {"en": "en_CA", "es": "es", "fr": "fr"}


@pytest.fixture
async def twilio(clinic: None, database_url: str, clock) -> AsyncIterator[Twilio]:
    async with sms_server(database_url, clock) as player:
        yield player


async def _maya_speaks(make_uow, language: str) -> None:
    async with make_uow() as uow:
        maya = await uow.session.scalar(select(Patient).where(Patient.phone == MAYA))
        maya.locale = LOCALES[language]
        await uow.commit()


async def _starts(make_uow) -> list[datetime]:
    async with make_uow() as uow:
        return sorted(a.starts_at for a in (await uow.session.scalars(select(Appointment))))

DAY = {"en": "Tue 3 Nov", "es": "mar 3 nov", "fr": "mar. 3 nov"}
BOOK = {"en": "Book an appointment", "es": "Reservar", "fr": "Prendre rendez-vous"}
YES = {"en": "yes", "es": "si", "fr": "Oui"}
BOOKED = {"en": "Booked for Tue 3 Nov, 10:00 a.m.", "es": "Reservado para el mar 3 nov, 10:00",
          "fr": "Réservé pour le mar. 3 nov., 10:00"}


@pytest.mark.parametrize("language", list(LOCALES))
async def test_a_typed_yes_in_the_patients_language_books(twilio, make_uow, language):
    """Item 2: the typed word, not the number, confirms (English "yes" included)."""
    await _maya_speaks(make_uow, language)
    maya = SmsPatient(twilio, MAYA)
    await maya.say("hi")
    await maya.choose(BOOK[language])
    await maya.choose("Maya")
    await maya.choose("Physio")
    await maya.choose(DAY[language])
    await maya.say("10:00")
    assert await _starts(make_uow) == []
    reply = await maya.say(YES[language])
    assert BOOKED[language] in reply, reply
    assert await _starts(make_uow) == [datetime(2026, 11, 3, 15, 0, tzinfo=UTC)]


SLIPS = {  # item 9: the language named mid-sentence, and a count that agrees with its noun
    "en": ("English", "I will speak English from now on.", "2 used, 1 booked, 2 available"),
    "es": ("Español", "Desde ahora le hablaré en español.", "2 usadas, 1 reservada, 2 disponibles"),
    "fr": ("Français", "Je vous parlerai en français désormais.", "1 réservée, 2 disponibles"),
}


@pytest.mark.parametrize("language", list(LOCALES))
async def test_language_names_and_counts_read_well_by_sms(twilio, make_uow, language):
    name, spoken, counts = SLIPS[language]
    await book(make_uow, "maya", TUE_10AM)
    maya = SmsPatient(twilio, MAYA)
    await maya.say("hi")
    await maya.choose("Language")
    reply = await maya.choose(name)
    assert spoken in reply and ".." not in reply, reply
    if language != "en":
        assert name not in reply, "lower case mid-sentence; the menu names no language"
    await maya.say("menu")
    await maya.choose({"en": "My packages", "es": "Mis paquetes", "fr": "Mes forfaits"}[language])
    await maya.choose("Maya")
    reply = await maya.choose("Physio")
    assert counts in reply and ".." not in reply, reply


REQUESTS = {  # item 10: one text names the treatment, practitioner, day and time
    "en": ("book a physio follow-up with Ana on Tuesday at 10am", "Please check your booking:",
           "Uses 1 of your Physio 5-pack"),
    "es": ("quiero una cita de fisioterapia de seguimiento con Ana el martes a las 10",
           "Revise su reserva", "Physio 5-pack"),
    "fr": ("je voudrais un suivi kiné avec Ana mardi à 10h", "Vérifiez votre réservation :",
           "Utilise 1 séance de votre Physio 5-pack"),
}


@pytest.mark.parametrize("language", list(LOCALES))
async def test_a_request_in_one_text_is_confirmed_before_booking(twilio, make_uow, language):
    said, check, package = REQUESTS[language]
    await _maya_speaks(make_uow, language)
    maya = SmsPatient(twilio, MAYA)
    reply = await maya.say(said)
    assert check in reply and package in reply and BOOKED[language][-5:] in reply, reply
    assert await _starts(make_uow) == [], "a guess is never booked silently"
    assert BOOKED[language] in await maya.say(YES[language])
    assert await _starts(make_uow) == [datetime(2026, 11, 3, 15, 0, tzinfo=UTC)]


TYPED_DAY = {"en": "Tuesday", "es": "martes", "fr": "mardi"}


@pytest.mark.parametrize("language", list(LOCALES))
async def test_a_closed_day_is_never_offered_by_sms(twilio, make_uow, language):
    """Item 11: the clinic is closed on Tuesday 3 November."""
    await close(make_uow, date(2026, 11, 3))
    await _maya_speaks(make_uow, language)
    maya = SmsPatient(twilio, MAYA)
    await maya.say("hi")
    await maya.choose(BOOK[language])
    await maya.choose("Maya")
    await maya.choose("Physio")
    days = maya.labels
    assert len(days) >= 3 and not any(DAY[language] in label for label in days), days
    reply = await maya.say(TYPED_DAY[language])
    assert DAY[language] not in " ".join(maya.labels), reply
    assert not any(":" in label and label[0].isdigit() for label in maya.labels), reply
    await maya.say("10:00")
    assert await _starts(make_uow) == []


PAGES = {  # items 2 and 3: "more" and "back" in the patient's words; numbers keep their meaning
    "en": ("Afternoon", None, "MORE", "Back", "Morning: 9:00 a.m.", "Please check your booking:"),
    "es": ("Tarde", "0) Más", "más", "atrás", "Mañana: de 09:00", "Revise su reserva"),
    "fr": ("Après-midi", "0) Plus", "Plus", "Retour", "Matin : de 09:00",
           "Vérifiez votre réservation :"),
}


@pytest.mark.parametrize("language", list(LOCALES))
async def test_typed_more_continues_the_numbers_and_back_returns(twilio, make_uow, language):
    afternoon, more_choice, more, back, morning, check = PAGES[language]
    await _maya_speaks(make_uow, language)
    maya = SmsPatient(twilio, MAYA)
    await maya.say("hi")
    await maya.choose(BOOK[language])
    await maya.choose("Maya")
    await maya.choose("Physio")
    await maya.choose(DAY[language])
    for attempt in range(2):
        first = await maya.choose(afternoon)
        assert "\n1) 12:00" in first, first
        if more_choice is None:  # English fits the whole afternoon in one GSM-7 text
            assert "\n19) 4:30 p.m." in first and "More" not in first, first
            pick = "13"
        else:  # accented: the second page goes on from the first page's numbers
            assert first.endswith("\n" + more_choice), first
            last_number = int(maya.choices[-2][0])
            second = await maya.say(more)
            assert f"\n{last_number + 1}) " in second and "\n1) " not in second, second
            pick = str(last_number + 1)
        later = dict(maya.choices)[pick]
        if attempt == 0:  # back to the parts of the day, then the same again
            assert maya.labels[0] != morning
            await maya.say(back)
            assert maya.labels[0].startswith(morning), maya.labels
    reply = await maya.say(pick)
    assert check in reply and later in reply, reply
    assert await _starts(make_uow) == []


ASKED = {  # item 10: "how many left?" and "move my Tuesday appointment to Thursday afternoon"
    "en": ("how many sessions do I have left?", "Physio 5-pack: 3 left",
           "move my Tuesday appointment to Thursday afternoon", "3:00 p.m.", "Thu 5 Nov"),
    "es": ("¿cuántas sesiones me quedan?", "Physio 5-pack: quedan 3",
           "cambiar mi cita del martes al jueves por la tarde", "15:00", "jue 5 nov"),
    "fr": ("combien de séances me reste-t-il ?", "Physio 5-pack : 3 restantes",
           "déplacer mon rendez-vous de mardi à jeudi après-midi", "15:00", "jeu. 5 nov"),
}


@pytest.mark.parametrize("language", list(LOCALES))
async def test_asking_what_is_left_and_moving_in_one_text(twilio, make_uow, language):
    left, listed, move, three_pm, thursday = ASKED[language]
    await _maya_speaks(make_uow, language)
    maya = SmsPatient(twilio, MAYA)
    reply = await maya.say(left)
    assert listed in reply, reply
    await book(make_uow, "maya", TUE_10AM)
    reply = await maya.say(move)
    assert thursday in reply and three_pm in maya.labels, reply
    reply = await maya.choose(three_pm)
    assert thursday in reply and three_pm in reply, reply
    assert await _starts(make_uow) == [TUE_10AM], "nothing moves before the patient confirms"
    await maya.say(YES[language])
    assert await _starts(make_uow) == [datetime(2026, 11, 5, 20, 0, tzinfo=UTC)]
