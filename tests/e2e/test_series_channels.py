"""Book my remaining sessions (issue 19) through the real servers, in English, Spanish and
French: by SMS with real Twilio signatures, and on Telegram through the Bot API stand-in.

Maya (+1 416 555 0101, a Physio 5-pack with 3 uses left) writes in the locale set on her
record; Sofía is booked with Ana on Tue 10 Nov at 10:00, so that week's session moves to the
nearest free time. The clock is Monday 2 November 2026, 08:00 in Toronto.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bot.storage.models import Appointment, Patient
from tests.dialogs.conftest import MAYA
from tests.dialogs.test_appointments import book
from tests.e2e.sms_harness import SmsPatient, Twilio, sms_server
from tests.e2e.telegram_harness import Telegram, TgUser, telegram_server
from tests.integration._builders import local

LOCALES = {"en": "en_CA", "es": "es", "fr": "fr"}
PACKAGES = {"en": "My packages", "es": "Mis paquetes", "fr": "Mes forfaits"}
SERIES = {"en": "Book my remaining sessions", "es": "Reservar mis sesiones restantes",
          "fr": "Réserver mes séances restantes"}
WEEKLY = {"en": "Every week", "es": "Cada semana", "fr": "Chaque semaine"}
DAY = {"en": "Tue 3 Nov", "es": "mar 3 nov", "fr": "mar. 3 nov"}
YES = {"en": "yes", "es": "si", "fr": "Oui"}
CONFIRM = {"en": "Confirm", "es": "Confirmar", "fr": "Confirmer"}
MOVED = {"en": "(instead of Tue 10 Nov, 10:00 a.m., which is not free)",
         "es": "(en lugar de mar 10 nov, 10:00, que no está libre)",
         "fr": "(au lieu de mar. 10 nov., 10:00, qui n'est pas libre)"}
BOOKED = {"en": "Booked: 3 sessions.", "es": "Reservadas: 3 sesiones.",
          "fr": "Réservé : 3 séances."}
SERIES_TIMES = [local(2026, 11, 3, 10), local(2026, 11, 10, 9, 30), local(2026, 11, 17, 10)]


@pytest.fixture
async def twilio(clinic: None, database_url: str, clock) -> AsyncIterator[Twilio]:
    async with sms_server(database_url, clock) as player:
        yield player


@pytest.fixture
async def tg(clinic: None, database_url: str, clock) -> AsyncIterator[Telegram]:
    async with telegram_server(database_url, clock, mode="polling") as player:
        yield player


async def _maya_speaks(make_uow, language: str) -> None:
    async with make_uow() as uow:
        maya = await uow.session.scalar(select(Patient).where(Patient.phone == MAYA))
        maya.locale = LOCALES[language]
        await uow.commit()


async def _series_starts(make_uow) -> list[datetime]:
    async with make_uow() as uow:
        rows = await uow.session.scalars(
            select(Appointment).where(Appointment.series_id.is_not(None)))
        return sorted(a.starts_at.astimezone(UTC) for a in rows)


@pytest.mark.parametrize("language", list(LOCALES))
async def test_a_weekly_series_by_sms(twilio, make_uow, language):
    await book(make_uow, "sofia", local(2026, 11, 10, 10), package=None)
    await _maya_speaks(make_uow, language)
    maya = SmsPatient(twilio, MAYA)
    await maya.say("hi")
    await maya.choose(PACKAGES[language])
    await maya.choose("Maya")
    await maya.choose("Physio 5-pack")
    await maya.choose(SERIES[language])
    await maya.choose(WEEKLY[language])
    await maya.choose(DAY[language])
    proposal = await maya.say("10:00")
    assert MOVED[language] in proposal, proposal
    assert "CANCEL" not in proposal.upper().replace("CANCELAR", ""), proposal
    assert await _series_starts(make_uow) == []
    reply = await maya.say(YES[language])
    assert BOOKED[language] in reply, reply
    assert await _series_starts(make_uow) == SERIES_TIMES


@pytest.mark.parametrize("language", list(LOCALES))
async def test_a_weekly_series_on_telegram(tg, make_uow, language):
    await book(make_uow, "sofia", local(2026, 11, 10, 10), package=None)
    maya = TgUser(tg, 7311, "Maya", language_code=language)
    await maya.say("/start")
    await maya.share_contact(MAYA)
    await _maya_speaks(make_uow, language)
    await maya.say("/menu")
    await maya.press(PACKAGES[language])
    await maya.press("Maya")
    await maya.press("Physio 5-pack")
    await maya.press(SERIES[language])
    await maya.press(WEEKLY[language])
    await maya.press(DAY[language])
    proposal = await maya.say("10:00")
    assert MOVED[language] in proposal, proposal
    assert await _series_starts(make_uow) == []
    reply = await maya.press(CONFIRM[language])
    assert BOOKED[language] in reply, reply
    assert await _series_starts(make_uow) == SERIES_TIMES
