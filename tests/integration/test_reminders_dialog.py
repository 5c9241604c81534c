"""Answering an appointment reminder by SMS or Telegram: C confirm, R reschedule, X cancel
(RULES.md 7, 17). The reminder's delivery puts the chat in the reminder dialog.

Maya (physio 5-pack, 3 uses left) has an appointment on Tuesday 3 November at 10:00; the
reminder goes out on Monday at 10:00, 24 hours before (the clinic's notice is also 24 hours).
"""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from bot.dialogs.engine import Engine
from bot.dialogs.registry import build_dialogs
from bot.scheduler.jobs import run_all_once
from bot.storage.models import Appointment, Conversation, OutboxMessage, Patient, PatientPackage
from tests.booking_support import at, load_ids
from tests.dialogs.chat import Chat
from tests.integration.test_outbox_support import MAYA, FakeChannel, deliverer
from tests.integration.test_reminders_walk import book

pytestmark = pytest.mark.usefixtures("clinic")
TUESDAY_10 = at("2026-11-03", 10)


async def remind(engine, clock, make_uow, *, patient: str = "maya",
                 now: datetime | None = None, telegram_user: int | None = None):
    """Book Tuesday 10:00 for ``patient``, deliver its reminder; (appointment id, channels)."""
    async with make_uow() as uow:
        ids = await load_ids(uow)
        if telegram_user is not None:
            (await uow.session.get(Patient, ids.maya)).telegram_user_id = telegram_user
            await uow.commit()
    who = ids.maya if patient == "maya" else ids.leo
    if patient == "maya":
        appointment = await book(make_uow, who, ids.ana, ids.downtown, ids.physio_follow,
                                 TUESDAY_10)
    else:
        appointment = await book(make_uow, who, ids.ben, ids.east, ids.massage,
                                 at("2026-11-04", 10))
    clock.set(now or at("2026-11-02", 10))
    sms, telegram = FakeChannel("sms", clock), FakeChannel("telegram", clock)
    await run_all_once(engine, clock, deliverer(engine, clock, sms, telegram))
    return appointment, sms, telegram


def reminders_to(channel: FakeChannel, address: str):
    """The appointment reminders among what was sent (Leo's unpaid installment goes too)."""
    return [d for d in channel.to(address) if d.text.startswith("Reminder from")]


def sms_chat(engine, clock) -> Chat:
    return Chat(Engine(engine, clock, build_dialogs()), channel="sms", address=MAYA, phone=MAYA)


async def appointment_row(make_uow, appointment_id: int) -> Appointment:
    async with make_uow(readonly=True) as uow:
        row = await uow.session.get(Appointment, appointment_id)
        uow.session.expunge(row)
        return row


async def test_the_reminder_asks_for_c_r_or_x_and_never_for_cancel(engine, clock, make_uow):
    _, sms, _ = await remind(engine, clock, make_uow)
    [reminder] = reminders_to(sms, MAYA)
    assert reminder.text == (
        "Reminder from Harbour Physio & Wellness: Tue 3 Nov, 10:00 a.m., Physiotherapy "
        "follow-up with Ana Silva at Downtown, for Maya. Reply C to confirm, R to reschedule or "
        "X to cancel.")
    async with make_uow(readonly=True) as uow:
        chat = await uow.session.scalar(select(Conversation).where(
            Conversation.channel == "sms", Conversation.address == MAYA))
        assert (chat.dialog, chat.step) == ("reminder", "answer")


async def test_c_confirms_the_appointment(engine, clock, make_uow):
    appointment, _, _ = await remind(engine, clock, make_uow)
    reply = await sms_chat(engine, clock).say("c")
    assert "Thank you, your appointment on Tue 3 Nov, 10:00 a.m. is confirmed." in reply.text
    assert "What would you like to do?" in reply.text, "then the main menu"
    assert (await appointment_row(make_uow, appointment)).confirmed_at == clock.now()


async def test_x_cancels_and_gives_the_package_use_back(engine, clock, make_uow):
    appointment, _, _ = await remind(engine, clock, make_uow)
    reply = await sms_chat(engine, clock).say("X")
    assert "Cancelled. The use went back to your Physio 5-pack (3 left)." in reply.text
    row = await appointment_row(make_uow, appointment)
    assert row.status == "cancelled" and row.package_id is None


async def test_r_opens_the_reschedule_flow_for_that_appointment(engine, clock, make_uow):
    appointment, _, _ = await remind(engine, clock, make_uow)
    chat = sms_chat(engine, clock)
    await chat.say("r")
    await chat.choose("Wed 4 Nov")
    await chat.choose("Afternoon")
    await chat.choose("3:00 p.m.")
    reply = await chat.choose("Confirm")
    assert "Done. Your appointment is now: Wed 4 Nov, 3:00 p.m." in reply.text
    assert (await appointment_row(make_uow, appointment)).starts_at == at("2026-11-04", 15)


async def test_inside_the_notice_window_x_explains_and_offers_a_message(engine, clock, make_uow):
    appointment, _, _ = await remind(engine, clock, make_uow, now=at("2026-11-02", 11))
    chat = sms_chat(engine, clock)
    reply = await chat.say("X")
    assert "only up to 24 hours before they start" in reply.text
    await chat.choose("Send a message to the clinic")
    await chat.say("Running late, sorry")
    assert (await appointment_row(make_uow, appointment)).status == "booked"
    async with make_uow(readonly=True) as uow:
        passed = (await uow.session.scalars(
            select(OutboxMessage.params).where(OutboxMessage.kind == "message"))).all()
    assert {params["about"] for params in passed} == {f"appointment:{appointment}"}


async def test_anything_else_asks_again_and_keeps_the_place(engine, clock, make_uow):
    await remind(engine, clock, make_uow)
    chat = sms_chat(engine, clock)
    reply = await chat.say("maybe?")
    assert reply.text.startswith("Please reply C to confirm, R to reschedule or X to cancel.")
    assert "Reminder from Harbour Physio & Wellness" in reply.text
    help_text = await chat.say("HELP")
    assert "Reply C to confirm, R to reschedule or X to cancel. MENU: main menu." in (
        help_text.text)


async def test_a_guardian_answers_for_the_child(engine, clock, make_uow):
    appointment, sms, _ = await remind(engine, clock, make_uow, patient="leo",
                                       now=at("2026-11-03", 10))
    [reminder] = reminders_to(sms, MAYA)
    assert "Massage therapy 60 min with Ben Okafor at East End, for Leo." in reminder.text
    await sms_chat(engine, clock).say("x")
    assert (await appointment_row(make_uow, appointment)).status == "cancelled"


async def test_on_telegram_the_answers_are_buttons(engine, clock, make_uow):
    appointment, sms, telegram = await remind(engine, clock, make_uow, telegram_user=777)
    assert sms.delivered == []
    [reminder] = reminders_to(telegram, "777")
    assert [(o.key, o.label) for o in reminder.options] == [
        ("C", "Confirm"), ("R", "Reschedule"), ("X", "Call off the appointment")]
    chat = Chat(Engine(engine, clock, build_dialogs()), channel="telegram", address="777",
                phone=None, telegram_user_id=777)
    reply = await chat.send(choice="C")
    assert "is confirmed" in reply.text
    assert (await appointment_row(make_uow, appointment)).confirmed_at is not None
    async with make_uow(readonly=True) as uow:
        booked = await uow.session.scalar(select(PatientPackage.booked).where(
            PatientPackage.patient_id == (await uow.session.get(Appointment, appointment))
            .patient_id))
    assert booked == 1, "confirming changes nothing else"


async def test_a_reminder_to_a_recycled_number_belongs_to_its_new_owner(engine, clock, make_uow):
    """The number was Sofía's (her chat is linked to her); it is Maya's now (issue 14, 6)."""
    async with make_uow() as uow:
        sofia = await uow.session.scalar(select(Patient).where(Patient.key == "sofia"))
        sofia.phone = "+14165550166"
        uow.session.add(Conversation(channel="sms", address=MAYA, patient_id=sofia.id,
                                     state={}, updated_at=clock.now()))
        await uow.commit()
    appointment, _, _ = await remind(engine, clock, make_uow)
    reply = await sms_chat(engine, clock).say("c")
    assert "is confirmed" in reply.text
    assert (await appointment_row(make_uow, appointment)).confirmed_at == clock.now()


async def test_a_reminder_is_answered_hours_later_despite_the_quiet_period(
        engine, clock, make_uow):
    appointment, _, _ = await remind(engine, clock, make_uow)
    clock.set(at("2026-11-02", 21))  # eleven hours after the reminder
    reply = await sms_chat(engine, clock).say("C")
    assert "is confirmed" in reply.text
    assert (await appointment_row(make_uow, appointment)).confirmed_at == clock.now()


async def test_other_words_hours_after_a_reminder_start_from_the_menu(engine, clock, make_uow):
    appointment, _, _ = await remind(engine, clock, make_uow)
    clock.set(at("2026-11-02", 21))
    reply = await sms_chat(engine, clock).say("hello")
    assert "It has been a while" in reply.text and "What would you like to do?" in reply.text
    assert (await appointment_row(make_uow, appointment)).confirmed_at is None
