"""Staff on Telegram: /staff registration, no-show alerts delivered by the outbox's Telegram
channel, resolving them both ways and undoing (RULES.md 8), refusals for non-staff chats,
two staff pressing at once, /today and /noshows, and replies to patients' messages. Each button
that changes something writes one audit entry from face "telegram" (issue 17); refused or
losing presses write none."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select
from telegram import Bot

from bot.delivery.channels import Channels
from bot.delivery.sender import Deliverer
from bot.handlers.telegram_channel import TelegramChannel
from bot.services import inbox, messages, noshows
from bot.storage.models import (
    Appointment,
    AuditEntry,
    InboxItem,
    Invoice,
    NoShow,
    OutboxMessage,
    Patient,
    Staff,
)
from tests.e2e.telegram_harness import STAFF_CODE, Telegram, TgUser, telegram_server
from tests.e2e.telegram_standin import TOKEN, Call
from tests.integration._builders import book, local, package_of

DESK_CHAT = -1001234567890
STARTS = local(2026, 11, 3, 10)


@pytest.fixture(params=["polling", "webhook"])
async def tg(request, clinic: None, database_url: str, clock) -> AsyncIterator[Telegram]:
    async with telegram_server(database_url, clock, mode=request.param) as player:
        yield player


async def deliver_outbox(tg: Telegram, engine, clock) -> None:
    """One delivery pass of the outbox through the Telegram channel adapter."""
    async with Bot(TOKEN, base_url=tg.settings.telegram_api_base_url) as bot:
        await Deliverer(engine, clock, Channels([TelegramChannel(bot)])).run_once()


async def no_show_alert(tg: Telegram, make_uow, engine, clock) -> tuple[int, Call]:
    """Maya's package appointment marked no-show; the desk's alert as sent."""
    async with make_uow() as uow:
        package = await package_of(uow, "maya")
        appointment = await book(uow, "maya", STARTS, package_id=package.id)
        await uow.commit()
    clock.set(STARTS + timedelta(minutes=20))
    async with make_uow() as uow:
        no_show = await noshows.mark_no_show(uow, appointment.id, by="desk")
        await uow.commit()
    start = len(tg.standin.calls)
    await deliver_outbox(tg, engine, clock)
    alert = await tg.wait_for(lambda c: c.chat_id == DESK_CHAT, after=start)
    return no_show.id, alert


async def _audit(make_uow) -> list[tuple[str, str, str]]:
    """(staff, face, action) of every audit entry, oldest first."""
    async with make_uow() as uow:
        rows = await uow.session.execute(
            select(AuditEntry.staff, AuditEntry.face, AuditEntry.action).order_by(AuditEntry.id))
        return [tuple(row) for row in rows]


async def _no_show(make_uow, no_show_id: int) -> NoShow:
    async with make_uow() as uow:
        found = await uow.session.get(NoShow, no_show_id)
        uow.session.expunge_all()
        return found


async def test_staff_register_with_the_code_and_a_wrong_code_changes_nothing(tg, make_uow):
    ana = TgUser(tg, 8002, "Ana")
    assert "not right" in await ana.say("/staff wrong-code")
    assert ana.last[-1].buttons == []
    reply = await ana.say(f"/staff {STAFF_CODE}")
    assert "Which staff member are you?" in reply
    assert "Ana Silva" in ana.labels
    stranger = TgUser(tg, 8003, "Eve")
    await stranger.press_data(dict(ana.keyboard_call().buttons)["Ana Silva"],
                              ana.keyboard_call())  # pressed from a chat without the code
    async with make_uow() as uow:
        staff = await uow.session.scalar(select(Staff).where(Staff.key == "ana"))
        assert staff.telegram_chat_id is None
    assert "Ana Silva" in await ana.press("Ana Silva")
    async with make_uow() as uow:
        staff = await uow.session.scalar(select(Staff).where(Staff.key == "ana"))
        assert staff.telegram_chat_id == 8002


async def test_the_staff_choice_survives_a_restart_but_not_a_day(
    clinic, database_url, clock, make_uow
):
    async with telegram_server(database_url, clock) as tg:
        ana = TgUser(tg, 8002, "Ana")
        await ana.say(f"/staff {STAFF_CODE}")
        choice = ana.keyboard_call()
    async with telegram_server(database_url, clock) as tg:  # a restart, or another instance
        ana = TgUser(tg, 8002, "Ana")
        assert "Ana Silva" in await ana.press("Ana Silva", call=choice)
        ben = TgUser(tg, 8004, "Ben")
        await ben.say(f"/staff {STAFF_CODE}")
        late = ben.keyboard_call()
        clock.set(clock.now() + timedelta(hours=25))
        await ben.press("Front desk", call=late)
        assert any(c.method == "answerCallbackQuery" and "Only staff" in str(
            c.params.get("text")) for c in tg.standin.calls)
    async with make_uow() as uow:
        chats = dict((await uow.session.execute(select(Staff.key, Staff.telegram_chat_id))).all())
    assert chats == {"desk": DESK_CHAT, "ana": 8002}


async def test_desk_redeems_then_undoes_then_charges_a_fee(tg, make_uow, engine, clock):
    no_show_id, alert = await no_show_alert(tg, make_uow, engine, clock)
    assert "Maya Chen" in alert.text and "Physio 5-pack" in alert.text
    labels = [label for label, _ in alert.buttons]
    assert labels[0] == "Redeem package use" and labels[1:] == [
        "Missed appointment fee ($45.00)", "Late cancellation fee ($30.00)"]
    desk = TgUser(tg, 8001, "Desk", chat_id=DESK_CHAT)
    reply = await desk.press("Redeem package use", call=alert)
    assert "package use was redeemed" in reply and "Front desk" in reply
    assert desk.labels == ["Undo"]
    assert (await _no_show(make_uow, no_show_id)).resolution == "redeemed"
    reply = await desk.press("Undo")
    assert (await _no_show(make_uow, no_show_id)).resolution is None
    assert "Redeem package use" in desk.labels
    reply = await desk.press("Missed appointment fee")
    found = await _no_show(make_uow, no_show_id)
    assert found.resolution == "fee" and found.invoice_id is not None
    assert "was charged" in reply and desk.labels == ["Undo"]
    await desk.press("Undo")
    async with make_uow() as uow:
        assert (await uow.session.get(Invoice, found.invoice_id)).status == "void"
        assert (await uow.session.get(NoShow, no_show_id)).resolution is None
    actions = ["no_show.resolve", "no_show.undo"] * 2  # marking it was no staff's press
    assert await _audit(make_uow) == [("desk", "telegram", action) for action in actions]


async def test_a_non_staff_user_pressing_a_staff_button_is_refused(tg, make_uow, engine, clock):
    no_show_id, alert = await no_show_alert(tg, make_uow, engine, clock)
    eve = TgUser(tg, 8003, "Eve")
    await eve.press("Redeem package use", call=alert)
    refusal = tg.standin.of("answerCallbackQuery")[-1]
    assert "Only staff" in refusal.params["text"]
    assert (await _no_show(make_uow, no_show_id)).resolution is None
    assert not [c for c in eve.last if c.method == "editMessageText"]
    assert "Only staff" in await eve.say("/noshows")
    assert await _audit(make_uow) == []


async def test_two_staff_pressing_at_once_get_one_outcome(tg, make_uow, engine, clock):
    no_show_id, alert = await no_show_alert(tg, make_uow, engine, clock)
    async with make_uow() as uow:
        ana = await uow.session.scalar(select(Staff).where(Staff.key == "ana"))
        ana.telegram_chat_id = 8002
        await uow.commit()
    desk = TgUser(tg, 8001, "Desk", chat_id=DESK_CHAT)
    ana_user = TgUser(tg, 8002, "Ana")
    redeem = dict((label, data) for label, data in alert.buttons)["Redeem package use"]
    fee = next(data for label, data in alert.buttons if "Missed" in label)
    start = len(tg.standin.calls)
    await asyncio.gather(tg.deliver(desk.button_update(redeem, alert)),
                         tg.deliver(ana_user.button_update(fee, alert)))
    await tg.wait_for(lambda c: c.chat_id == 8002 and c.method == "editMessageText", after=start)
    await tg.wait_for(lambda c: c.chat_id == DESK_CHAT and c.method == "editMessageText",
                      after=start)
    await tg.settle()
    found = await _no_show(make_uow, no_show_id)
    assert found.resolution in ("redeemed", "fee")
    edits = [c for c in tg.standin.calls[start:] if c.method == "editMessageText"]
    outcome = "package use was redeemed" if found.resolution == "redeemed" else "was charged"
    assert len(edits) == 2 and all(outcome in c.text for c in edits)
    assert sum("Nothing was changed" in c.text for c in edits) == 1
    async with make_uow() as uow:
        invoices = (await uow.session.scalars(select(Invoice).where(
            Invoice.kind == "no_show"))).all()
        assert len(invoices) == (1 if found.resolution == "fee" else 0)
    [(who, face, action)] = await _audit(make_uow)  # the losing press recorded nothing
    assert who in ("desk", "ana") and (face, action) == ("telegram", "no_show.resolve")


async def test_today_lists_appointments_with_arrive_buttons(tg, make_uow, clock):
    async with make_uow() as uow:
        appointment = await book(uow, "maya", STARTS)
        await uow.commit()
    clock.set(STARTS + timedelta(minutes=5))
    desk = TgUser(tg, 8001, "Desk", chat_id=DESK_CHAT)
    reply = await desk.say("/today")
    assert "Maya Chen" in reply and desk.labels == ["Arrived", "No-show"]
    assert "Marked arrived" in await desk.press("Arrived")
    async with make_uow() as uow:
        assert (await uow.session.get(Appointment, appointment.id)).status == "arrived"
    assert await _audit(make_uow) == [("desk", "telegram", "appointment.arrive")]
    assert "No open no-shows" in await desk.say("/noshows")


async def test_a_staff_reply_to_a_patient_message_goes_to_the_patient(
    tg, make_uow, engine, clock
):
    async with make_uow() as uow:
        maya = await uow.session.scalar(select(Patient).where(Patient.key == "maya"))
        maya.telegram_user_id = 7001
        await messages.pass_to_clinic(uow, patient_id=maya.id, text="Can I come at 3?",
                                      channel="telegram")
        await uow.commit()
    start = len(tg.standin.calls)
    await deliver_outbox(tg, engine, clock)
    alert = await tg.wait_for(lambda c: c.chat_id == DESK_CHAT, after=start)
    assert "Can I come at 3?" in alert.text
    desk = TgUser(tg, 8001, "Desk", chat_id=DESK_CHAT)
    reply = desk.update(message=desk.message(text="Yes, 3 pm works.", reply_to_message={
        "message_id": alert.params["_message_id"], "date": 0,
        "chat": {"id": DESK_CHAT, "type": "supergroup", "title": "Desk"}, "text": alert.text}))
    assert "will be sent to the patient" in await desk.send(reply)
    start = len(tg.standin.calls)
    await deliver_outbox(tg, engine, clock)
    answer = await tg.wait_for(lambda c: c.chat_id == 7001, after=start)
    assert "Yes, 3 pm works." in answer.text
    async with make_uow() as uow:
        row = await uow.session.scalar(select(OutboxMessage).where(
            OutboxMessage.kind == "staff_reply"))
        assert row.status == "sent" and row.patient_id == maya.id
        [item] = (await uow.session.scalars(select(InboxItem))).all()
        [reply] = await inbox.replies(uow, item.id)
        assert (item.handled_by, reply.staff_key, reply.outbox_id) == ("desk", "desk", row.id)
        assert reply.text == "Yes, 3 pm works." and "text" not in row.params
        entries = (await uow.session.scalars(select(AuditEntry))).all()
        assert [(e.staff, e.face, e.action) for e in entries] == [
            ("desk", "telegram", "inbox.reply")]


async def test_a_visit_not_marked_after_grace_offers_arrived(tg, make_uow, engine, clock):
    async with make_uow() as uow:
        package = await package_of(uow, "maya")
        appointment = await book(uow, "maya", STARTS, package_id=package.id)
        await uow.commit()
    clock.set(STARTS + timedelta(hours=1))
    async with make_uow() as uow:
        assert await noshows.raise_overdue(uow, clock.now()) == 1
        await uow.commit()
    start = len(tg.standin.calls)
    await deliver_outbox(tg, engine, clock)
    alert = await tg.wait_for(lambda c: c.chat_id == DESK_CHAT, after=start)
    assert [label for label, _ in alert.buttons][:3] == ["Arrived", "No-show",
                                                          "Redeem package use"]
    desk = TgUser(tg, 8001, "Desk", chat_id=DESK_CHAT)
    assert "Marked arrived by Front desk" in await desk.press("Arrived", call=alert)
    async with make_uow() as uow:
        assert (await uow.session.get(Appointment, appointment.id)).status == "arrived"


async def test_a_look_alike_registration_can_be_merged_from_the_alert(
    tg, make_uow, engine, clock
):
    twin = TgUser(tg, 7005, "Maya")
    await twin.say("/start")
    await twin.share_contact("+14165550177")
    for answer in ("Maya", "Chen", "1988-04-02"):
        await twin.say(answer)
    assert "You are registered" in await twin.press("Yes")
    start = len(tg.standin.calls)
    await deliver_outbox(tg, engine, clock)
    alert = await tg.wait_for(lambda c: c.chat_id == DESK_CHAT, after=start)
    labels = [label for label, _ in alert.buttons]
    assert labels[-1] == "Keep separate" and labels[0].startswith("Merge into Maya Chen")
    assert "Registered" in alert.text and "Telegram, shared phone +1 ••••••0177" in alert.text
    desk = TgUser(tg, 8001, "Desk", chat_id=DESK_CHAT)
    assert "Merged by Front desk" in await desk.press("and link Telegram", call=alert)
    async with make_uow() as uow:
        new = await uow.session.scalar(select(Patient).where(Patient.phone == "+14165550177"))
        maya = await uow.session.scalar(select(Patient).where(Patient.key == "maya"))
        assert new.merged_into_id == maya.id and maya.telegram_user_id == 7005
