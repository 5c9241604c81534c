"""Who may act, through the real servers (issue 14, items 7 and 9).

* A staff member who registered their chat with ``/staff CODE`` and is then deleted from the
  set-up file (real ``clinicbot load`` in a subprocess): ``load`` says it revoked the chat, and
  the chat gets "Only staff" for ``/today`` and for the buttons it was already sent.
* Someone texts the clinic by SMS and registers as "Maya Chen, 1988-04-02". The desk's Telegram
  alert shows the evidence (masked phone, when, what matched) and two merges: without linking
  the phone (the stranger's phone stays unknown) and with it (the phone then opens the file).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.storage.models import Appointment, Patient
from tests.conftest import EXAMPLE_FILE
from tests.e2e.sms_harness import SmsPatient, Twilio, sms_server
from tests.e2e.telegram_harness import STAFF_CODE, Telegram, TgUser, telegram_server
from tests.e2e.telegram_standin import Call
from tests.e2e.test_cli_staff_support import Clinicbot
from tests.e2e.test_telegram_staff import DESK_CHAT, STARTS, deliver_outbox
from tests.integration._builders import book

ANA_BLOCK = '''[[staff]]
key = "ana"
name = "Ana Silva"
role = "practitioner"
practitioner = "ana"
alerts = ["no_show"]
'''
STRANGER = "+14165550177"


@pytest.fixture
async def tg(clinic: None, database_url: str, clock) -> AsyncIterator[Telegram]:
    async with telegram_server(database_url, clock) as player:
        yield player


@pytest.fixture
async def both(clinic: None, database_url: str, clock
               ) -> AsyncIterator[tuple[Twilio, Telegram]]:
    """SMS and Telegram servers on the same database, as one clinic runs them."""
    async with sms_server(database_url, clock) as twilio, \
            telegram_server(database_url, clock) as tg:
        yield twilio, tg


async def test_a_staff_member_removed_from_the_file_loses_the_chat(
    tg, make_uow, clock, database_url, tmp_path
):
    ana = TgUser(tg, 8002, "Ana")
    await ana.say(f"/staff {STAFF_CODE}")
    assert "Ana Silva" in await ana.press("Ana Silva")
    async with make_uow() as uow:
        appointment = await book(uow, "maya", STARTS)
        await uow.commit()
    clock.set(STARTS + timedelta(minutes=5))
    assert "Maya Chen" in await ana.say("/today")
    today = ana.keyboard_call()

    text = EXAMPLE_FILE.read_text(encoding="utf-8")
    assert ANA_BLOCK in text
    path = tmp_path / "clinic.toml"
    path.write_text(text.replace(ANA_BLOCK, ""), encoding="utf-8")
    out = await asyncio.to_thread(Clinicbot(database_url, tmp_path).ok, "load", str(path))
    assert "nothing changed" not in out
    assert "revoked: staff 'ana' is not in the file" in out and "chat 8002" in out

    assert "Only staff" in await ana.say("/today")
    await ana.press("Arrived", call=today)
    refusal = tg.standin.of("answerCallbackQuery")[-1]
    assert "Only staff" in refusal.params["text"]
    async with make_uow() as uow:
        assert (await uow.session.get(Appointment, appointment.id)).status == "booked"
    await ana.say(f"/staff {STAFF_CODE}")
    assert "Ana Silva" not in ana.labels and "Front desk" in ana.labels


async def _look_alike_alert(both: tuple[Twilio, Telegram], engine, clock) -> Call:
    """A stranger registers by SMS as Maya; the desk's alert as sent to Telegram."""
    twilio, tg = both
    stranger = SmsPatient(twilio, STRANGER)
    assert "first name" in await stranger.say("hi")
    for answer in ("Maya", "Chen", "1988-04-02"):
        await stranger.say(answer)
    assert "You are registered" in await stranger.choose("Yes")
    start = len(tg.standin.calls)
    await deliver_outbox(tg, engine, clock)
    return await tg.wait_for(lambda c: c.chat_id == DESK_CHAT, after=start)


async def test_a_look_alike_merged_without_linking_keeps_the_strangers_phone_out(
    both, make_uow, engine, clock
):
    alert = await _look_alike_alert(both, engine, clock)
    assert "phone +1 ••••••0177" in alert.text and STRANGER not in alert.text
    assert "same name and birth date only" in alert.text and "Registered" in alert.text
    labels = [label for label, _ in alert.buttons]
    assert labels == [
        "Merge into Maya Chen (patient 1), keep its own phone only",
        "Merge into Maya Chen (patient 1) and link +1 ••••••0177 (verified)",
        "Keep separate",
    ]
    desk = TgUser(both[1], 8001, "Desk", chat_id=DESK_CHAT)
    assert "does not open the file" in await desk.press("keep its own phone", call=alert)

    stranger = SmsPatient(both[0], STRANGER)
    reply = await stranger.say("hi")
    assert "first name" in reply and "Maya" not in reply
    async with make_uow() as uow:
        merged = await uow.session.scalar(
            select(Patient).where(Patient.merged_into_id.is_not(None)))
        assert merged.phone is None and merged.merged_into_id == 1


async def test_a_look_alike_merged_with_the_phone_verified_opens_the_file(
    both, make_uow, engine, clock
):
    alert = await _look_alike_alert(both, engine, clock)
    desk = TgUser(both[1], 8001, "Desk", chat_id=DESK_CHAT)
    assert "now opens the file" in await desk.press("and link", call=alert)
    assert "Hi Maya!" in await SmsPatient(both[0], STRANGER).say("hi")
