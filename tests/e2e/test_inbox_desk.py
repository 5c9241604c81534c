"""The desk's inbox end to end (issue 17): a patient's "Talk to the clinic" message over SMS or
Telegram is listed by ``clinicbot staff messages``, answered with ``clinicbot staff reply``, and
the answer reaches the patient's own channel (the Twilio or Bot API stand-in); in an SMS-only
clinic a staff alert reaches the staff member's phone and is in the inbox too.

The CLI runs as a real process on the real clock, so its reply is due from now: delivery runs
here on a clock set to tomorrow morning in the clinic (after it, and outside quiet hours).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from telegram import Bot

from bot.clock import FixedClock
from bot.delivery.channels import Channels, SmsChannel
from bot.delivery.sender import Deliverer, DeliveryCounts
from bot.handlers.sms_sender import TwilioSender
from bot.handlers.telegram_channel import TelegramChannel
from bot.services import messages
from bot.storage.db import create_engine
from bot.storage.models import Patient
from bot.storage.uow import UnitOfWork
from tests.conftest import EXAMPLE_FILE
from tests.e2e.sms_harness import SmsPatient, sms_server, sms_settings
from tests.e2e.telegram_harness import Telegram, TgUser, telegram_server
from tests.e2e.telegram_standin import TOKEN
from tests.e2e.test_cli_staff_support import TORONTO, Clinicbot, number
from tests.e2e.test_jobs_cli import clinicbot, environment
from tests.e2e.test_scheduler_processes import standin

MAYA = "+14165550101"
MAYA_TELEGRAM = 7001
DESK_PHONE = "+14165550177"
QUESTION = "Can I come at 3 pm on Tuesday instead?"
ANSWER = "Yes, 3 pm on Tuesday works. See you then."


def after_the_cli() -> FixedClock:
    """10:00 tomorrow at the clinic: after anything the CLI queued, outside quiet hours."""
    tomorrow = datetime.now(TORONTO) + timedelta(days=1)
    return FixedClock(tomorrow.replace(hour=10, minute=0, second=0, microsecond=0)
                      .astimezone(UTC))


async def deliver_sms(engine, twilio_url: str) -> DeliveryCounts:
    settings = sms_settings("sqlite:///unused.db", 8080, TWILIO_API_BASE_URL=twilio_url)
    async with TwilioSender.from_settings(settings, timeout=10) as sender:
        return await Deliverer(engine, after_the_cli(), Channels([SmsChannel(sender)])).run_once()


def answer_from_the_cli(desk: Clinicbot, who: str) -> int:
    """List the inbox, find ``who``'s message, reply to it; the item's id."""
    listed = desk.ok("staff", "messages")
    item = number(rf"Item (\d+) - [\d: -]+ - message - patient \d+ \({who}\) - waiting", listed)
    assert QUESTION in listed
    replied = desk.ok("staff", "--as", "desk", "reply", str(item), ANSWER)
    assert f"item {item} is handled by desk" in replied
    assert f"Item {item} " not in desk.ok("staff", "messages"), "handled: no longer waiting"
    everything = desk.ok("staff", "messages", "--all")
    assert "handled by desk" in everything and "Reply by desk at" in everything
    return item


@pytest.mark.usefixtures("clinic")
async def test_an_sms_patients_message_is_answered_by_sms(database_url, engine, clock, tmp_path):
    async with sms_server(database_url, clock) as twilio_player:
        maya = SmsPatient(twilio_player, MAYA)
        await maya.say("hi")
        await maya.choose("Talk to the clinic")
        assert "passed to the clinic" in await maya.say(QUESTION)
    answer_from_the_cli(Clinicbot(database_url, tmp_path), "Maya Chen")
    async with standin() as (twilio, url):
        await deliver_sms(engine, url)
    [sms] = [s for s in twilio.sent if ANSWER in s.params["Body"]]
    assert sms.params["To"] == MAYA


@pytest.fixture
async def tg(clinic: None, database_url: str, clock) -> AsyncIterator[Telegram]:
    async with telegram_server(database_url, clock) as player:
        yield player


async def test_a_telegram_patients_message_is_answered_on_telegram(
    tg, make_uow, engine, tmp_path, database_url
):
    async with make_uow() as uow:
        maya = await uow.session.scalar(select(Patient).where(Patient.key == "maya"))
        maya.telegram_user_id = MAYA_TELEGRAM
        await uow.commit()
    patient = TgUser(tg, MAYA_TELEGRAM, "Maya")
    await patient.say("hi")
    await patient.press("Talk to the clinic")
    assert "passed to the clinic" in await patient.say(QUESTION)
    answer_from_the_cli(Clinicbot(database_url, tmp_path), "Maya Chen")
    start = len(tg.standin.calls)
    async with Bot(TOKEN, base_url=tg.settings.telegram_api_base_url) as bot:
        await Deliverer(engine, after_the_cli(), Channels([TelegramChannel(bot)])).run_once()
    answer = await tg.wait_for(lambda c: c.chat_id == MAYA_TELEGRAM and ANSWER in c.text,
                               after=start)
    assert answer.text.startswith("Harbour Physio & Wellness: ")


async def _message_then_opt_out(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        async with UnitOfWork(engine) as uow:
            maya = await uow.session.scalar(select(Patient).where(Patient.key == "maya"))
            assert maya is not None
            await messages.pass_to_clinic(uow, patient_id=maya.id, text=QUESTION, channel="sms")
            maya.opted_out = True
            await uow.commit()
    finally:
        await engine.dispose()


def test_an_opted_out_patient_is_not_answered_and_the_desk_hears_why(database_url, tmp_path):
    desk = Clinicbot(database_url, tmp_path)
    desk.ok("load", str(EXAMPLE_FILE))
    asyncio.run(_message_then_opt_out(database_url))
    item = number(r"Item (\d+) ", desk.ok("staff", "messages", "--kind", "message"))
    refused = desk.refused("staff", "reply", str(item), ANSWER)
    assert "opted out of messages (they texted STOP), so nothing was sent" in refused.stderr
    assert "the reply is empty" in desk.refused("staff", "reply", str(item), "  ").stderr
    assert "the reply is empty" in desk.refused("staff", "reply", str(item)).stderr  # stdin
    assert "there is no inbox item 99999" in desk.refused("staff", "handled", "99999").stderr
    assert f"Item {item} is handled by desk" in desk.ok("staff", "handled", str(item))
    assert "already handled by desk" in desk.ok("staff", "--as", "ana", "handled", str(item))
    assert f"Item {item} waits again." in desk.ok("staff", "handled", str(item), "--undo")


def _with_desk_phone(folder: Path, phone: str) -> Path:
    text = EXAMPLE_FILE.read_text(encoding="utf-8")
    chat = "telegram_chat_id = -1001234567890  # a group chat: negative id\n"
    assert chat in text
    path = folder / "clinic.toml"
    path.write_text(text.replace(chat, chat + f'phone = "{phone}"\n', 1), encoding="utf-8")
    return path


async def test_an_sms_only_clinic_texts_alerts_to_a_staff_phone_and_keeps_them(
    database_url, tmp_path
):
    """At 09:00 on 2 November Leo's installment is 18 days late: the desk (a phone, and no
    Telegram configured) gets the unpaid alert by SMS; it is in the inbox too."""
    desk = Clinicbot(database_url, tmp_path)
    desk.ok("load", str(_with_desk_phone(tmp_path, "(416) 555-0177")))
    async with standin() as (twilio, url):
        code, out, err = await clinicbot(environment(database_url, url), tmp_path, "jobs", "run",
                                         "--now", "2026-11-02T09:00")
        assert code == 0, err
        assert "sent 2, held 0, skipped 0" in out, out
    [alert] = [s for s in twilio.sent if s.params["To"] == DESK_PHONE]
    assert alert.params["Body"].startswith("Unpaid: invoice 3 of Leo Chen (patient 2)")
    assert MAYA not in alert.params["Body"]
    listed = desk.ok("staff", "messages", "--kind", "unpaid")
    assert "unpaid - patient 2 (Leo Chen) - waiting" in listed
    assert "Unpaid: invoice 3 of Leo Chen" in listed


def test_a_staff_phone_that_is_no_number_is_refused_on_load(database_url, tmp_path):
    refused = Clinicbot(database_url, tmp_path).refused(
        "load", str(_with_desk_phone(tmp_path, "555-01")))
    assert "staff" in refused.stderr and "not a valid phone number" in refused.stderr
