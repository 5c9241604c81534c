"""Book my remaining sessions (issue 19): transcripts in English, Spanish and French, over SMS
(numbers typed) and Telegram (buttons pressed).

The clock is Monday 2 November 2026, 08:00 in Toronto. Maya's Physio 5-pack has 3 uses left
(Ana at Downtown, Mon-Thu 9-17; a follow-up is 30 minutes).
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.dialogs.gsm import is_gsm7, to_gsm
from bot.storage.models import Appointment, AppointmentSeries, Patient
from tests.dialogs.chat import Chat
from tests.dialogs.conftest import MAYA
from tests.dialogs.test_appointments import book
from tests.integration._builders import counters, local, package_of

CHANNELS = ["sms", "telegram"]
WORDS = {  # what each language says at the steps the transcripts check
    "en_CA": {"rhythm": "How often would you like to come?", "every": "Every how many days?",
              "sessions": "3 sessions of Physiotherapy follow-up with Ana Silva at Downtown:",
              "moved": "(instead of Tue 10 Nov, 10:00 a.m., which is not free)",
              "booked": "Booked: 3 sessions. Each one uses 1 of your Physio 5-pack.",
              "rest": "Call off this session and the rest of the series (2 sessions)?",
              "cancelled": "Cancelled 2 sessions.", "left": "Your Physio 5-pack has 2 uses left.",
              "taken": "nothing was booked"},
    "es": {"rhythm": "¿Cada cuánto quiere venir?", "every": "¿Cada cuántos días?",
           "sessions": "3 sesiones de",
           "moved": "(en lugar de mar 10 nov, 10:00, que no está libre)",
           "booked": "Reservadas: 3 sesiones. Cada una usa 1 de su Physio 5-pack.",
           "rest": "¿Anular esta sesión y el resto de la serie (2 sesiones)?",
           "cancelled": "Anuladas 2 sesiones.", "left": "A su Physio 5-pack le quedan 2 usos.",
           "taken": "no se reservó nada"},
    "fr": {"rhythm": "À quelle fréquence souhaitez-vous venir ?",
           "every": "Tous les combien de jours ?", "sessions": "3 séances de",
           "moved": "(au lieu de mar. 10 nov., 10:00, qui n'est pas libre)",
           "booked": "Réservé : 3 séances. Chacune utilise 1 de votre Physio 5-pack.",
           "rest": "Annuler cette séance et le reste de la série (2 séances) ?",
           "cancelled": "2 séances annulées.",
           "left": "Il reste 2 utilisations sur votre Physio 5-pack.",
           "taken": "rien n'a été réservé"},
}
LOCALES = list(WORDS)


def make(bot_engine, channel: str) -> Chat:
    return Chat(bot_engine, channel=channel, address=MAYA if channel == "sms" else "7001",
                phone=MAYA, telegram_user_id=7001 if channel == "telegram" else None)


async def pick(chat: Chat, key: str):
    """The option with ``key``: its number typed on SMS, its button pressed on Telegram."""
    for number, option in zip(chat.last.numbers(), chat.last.options, strict=True):
        if option.key == key:
            if chat.channel == "telegram":
                return await chat.send(choice=key)
            return await chat.send(str(number))
    raise AssertionError(f"no option {key!r} in: {[o.key for o in chat.last.options]}")


async def speaking(make_uow, locale: str) -> None:
    async with make_uow() as uow:
        maya = await uow.session.scalar(select(Patient).where(Patient.key == "maya"))
        maya.locale = locale
        await uow.commit()


async def maya_package(make_uow) -> tuple[int, int]:
    """(Maya's id, her package's id)."""
    async with make_uow() as uow:
        package = await package_of(uow, "maya")
        return package.patient_id, package.id


async def to_rhythm(chat: Chat, make_uow):
    maya_id, package_id = await maya_package(make_uow)
    await chat.say("hi")
    await pick(chat, "packages")
    await pick(chat, f"p{maya_id}")
    await pick(chat, f"pk{package_id}")
    return await pick(chat, "series")


async def series_rows(make_uow) -> list[tuple[str, int | None]]:
    async with make_uow() as uow:
        rows = await uow.session.scalars(
            select(Appointment).where(Appointment.status == "booked")
            .order_by(Appointment.starts_at))
        return [(a.starts_at.isoformat(), a.series_id) for a in rows]


def sms_safe(chat: Chat, locale: str) -> None:
    """English SMS stays GSM-7 (the other languages' accents are letters, kept as they are)."""
    if chat.channel == "sms" and locale == "en_CA":
        assert is_gsm7(to_gsm(chat.text)), chat.text


@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize("locale", LOCALES)
async def test_weekly_series_from_my_packages_with_a_moved_session(
    bot_engine, make_uow, locale, channel
):
    words = WORDS[locale]
    await speaking(make_uow, locale)
    await book(make_uow, "sofia", local(2026, 11, 10, 10), package=None)  # Ana busy then
    chat = make(bot_engine, channel)
    reply = await to_rhythm(chat, make_uow)
    assert words["rhythm"] in reply.text and "3" in reply.text
    sms_safe(chat, locale)
    await pick(chat, "w7")
    await pick(chat, "d2026-11-03")
    await pick(chat, "pmorning")
    reply = await pick(chat, "t2026-11-03T15:00")
    assert words["sessions"] in reply.text
    assert words["moved"] in reply.text, reply.text
    sms_safe(chat, locale)
    assert await series_rows(make_uow) == [(local(2026, 11, 10, 10).isoformat(), None)], (
        "the proposal books nothing")
    reply = await pick(chat, "yes")
    assert words["booked"] in reply.text
    rows = await series_rows(make_uow)
    mine = [when for when, series_id in rows if series_id is not None]
    assert mine == [local(2026, 11, 3, 10).isoformat(), local(2026, 11, 10, 9, 30).isoformat(),
                    local(2026, 11, 17, 10).isoformat()]
    async with make_uow() as uow:
        assert (await counters(uow, (await package_of(uow, "maya")).id))[2:] == (3, 0)


@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize("locale", LOCALES)
async def test_every_n_days_then_cancel_the_rest_of_the_series(
    bot_engine, make_uow, locale, channel
):
    words = WORDS[locale]
    await speaking(make_uow, locale)
    chat = make(bot_engine, channel)
    await to_rhythm(chat, make_uow)
    reply = await pick(chat, "wn")
    assert words["every"] in reply.text
    reply = await chat.say("90")
    assert "60" in reply.text, "a rhythm too long is explained"
    await chat.say("3")
    await pick(chat, "d2026-11-03")
    await pick(chat, "pmorning")
    await pick(chat, "t2026-11-03T15:00")
    await pick(chat, "yes")
    async with make_uow() as uow:
        row = await uow.session.scalar(select(AppointmentSeries))
        assert row.every_days == 3
        booked = list(await uow.session.scalars(
            select(Appointment).where(Appointment.series_id == row.id)
            .order_by(Appointment.starts_at)))
        uow.session.expunge_all()  # keep them readable after the unit of work ends
    assert [a.starts_at for a in booked] == [
        local(2026, 11, 3, 10), local(2026, 11, 5, 10), local(2026, 11, 9, 10)], (
        "Fri 6 Nov: Ana is not downtown (nor on Sat 7), so the day before; then Mon 9")
    await chat.say("menu")
    await pick(chat, "appointments")
    await pick(chat, f"p{booked[0].patient_id}")
    reply = await pick(chat, f"ap{booked[1].id}")
    assert [o.key for o in reply.options] == ["cancel", "rest", "move", "back"]
    sms_safe(chat, locale)
    reply = await pick(chat, "rest")
    assert words["rest"] in reply.text
    reply = await pick(chat, "yes")
    assert words["cancelled"] in reply.text and words["left"] in reply.text
    sms_safe(chat, locale)
    async with make_uow() as uow:
        statuses = [(await uow.session.get(Appointment, a.id, populate_existing=True)).status
                    for a in booked]
        assert statuses == ["booked", "cancelled", "cancelled"]
        assert (await counters(uow, (await package_of(uow, "maya")).id))[2:] == (1, 2)


@pytest.mark.parametrize("channel", CHANNELS)
async def test_from_a_booking_and_a_time_taken_before_confirming(bot_engine, make_uow, channel):
    words = WORDS["en_CA"]
    chat = make(bot_engine, channel)
    await chat.say("hi")
    await pick(chat, "book")
    maya_id, package_id = await maya_package(make_uow)
    await pick(chat, f"p{maya_id}")
    await pick(chat, f"pk{package_id}")
    await pick(chat, "d2026-11-03")
    await pick(chat, "pmorning")
    await pick(chat, "t2026-11-03T15:00")
    reply = await pick(chat, "series")
    assert words["rhythm"] in reply.text
    reply = await pick(chat, "w14")
    assert "Tue 3 Nov, 10:00 a.m." in reply.text and "Tue 17 Nov, 10:00 a.m." in reply.text
    assert "Tue 1 Dec" not in reply.text, "the horizon ends the series"
    assert "1 use stays on your Physio 5-pack for later." in reply.text
    await book(make_uow, "sofia", local(2026, 11, 17, 10), package=None)
    reply = await pick(chat, "yes")
    assert words["taken"] in reply.text
    assert "(instead of Tue 17 Nov, 10:00 a.m., which is not free)" in reply.text
    assert await series_rows(make_uow) == [(local(2026, 11, 17, 10).isoformat(), None)]
    reply = await pick(chat, "yes")
    assert "Booked: 2 sessions." in reply.text
