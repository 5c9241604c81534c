"""The desk's inbox (issue 17): one item per message or alert, listed unhandled first and newest
first a page at a time, one handled state for all staff (two staff at once: one handled_by),
and replies checked, refused for an opted-out patient, and queued to the patient's channel."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.delivery.inbox_text import item_text
from bot.i18n import translator
from bot.services import inbox, messages, noshows, outbox
from bot.services.clinic import get_clinic
from bot.services.errors import InvalidInput, NotFound, WrongState
from bot.storage.models import InboxItem, InboxReply, OutboxMessage
from tests.integration._builders import book, local, patient

pytestmark = pytest.mark.usefixtures("clinic")
STARTS = local(2026, 11, 3, 10)


async def _message(make_uow, clock, key: str, text: str, *, minutes: int = 0) -> int:
    """``key``'s "Talk to the clinic" message, ``minutes`` after the clock's time; its item."""
    clock.set(clock.now() + timedelta(minutes=minutes))
    async with make_uow() as uow:
        who = await patient(uow, key)
        await messages.pass_to_clinic(uow, patient_id=who.id, text=text, channel="sms")
        await uow.commit()
    async with make_uow(readonly=True) as uow:
        return int(await uow.session.scalar(select(func.max(InboxItem.id))))


async def test_a_message_is_one_item_holding_its_text_and_the_outbox_only_its_id(
    make_uow, clock
):
    item_id = await _message(make_uow, clock, "maya", "Can I come at 3?")
    async with make_uow(readonly=True) as uow:
        item = await inbox.get_item(uow, item_id)
        maya = await patient(uow, "maya")
        assert (item.kind, item.patient_id, item.text, item.channel) == (
            "message", maya.id, "Can I come at 3?", "sms")
        rows = (await uow.session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "message"))).all()
        assert rows, "the desk is told"
        for row in rows:
            assert row.params["inbox_id"] == item_id and "text" not in row.params


async def test_an_alert_to_several_staff_is_one_item_and_recorded_when_nobody_asked(
    make_uow, clock
):
    async with make_uow() as uow:
        appointment = await book(uow, "maya", STARTS)
        clock.set(appointment.ends_at)
        no_show = await noshows.mark_no_show(uow, appointment.id, by="desk")
        await outbox.alert_staff(uow, alert="nobody_asked", purpose="test:1", params={})
        await uow.commit()
    async with make_uow(readonly=True) as uow:
        told = await uow.session.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.kind == "no_show"))
        items = (await uow.session.scalars(select(InboxItem).order_by(InboxItem.id))).all()
        assert told == 2, "desk and Ana both asked for no-show alerts"
        assert [(i.key, i.kind) for i in items] == [
            (f"noshow:{no_show.id}", "no_show"), ("test:1", "nobody_asked")]
        assert items[0].params["no_show_id"] == no_show.id and items[0].text is None


async def test_the_list_is_unhandled_first_newest_first_in_pages(make_uow, clock):
    ids = [await _message(make_uow, clock, "maya", f"note {n}", minutes=1) for n in range(5)]
    async with make_uow() as uow:
        await inbox.mark_handled(uow, ids[1], by="desk")
        await inbox.mark_handled(uow, ids[3], by="ana")
        await uow.commit()
    seen: list[int] = []
    after = None
    async with make_uow(readonly=True) as uow:
        while True:
            page = await inbox.listing(uow, after=after, limit=2)
            seen += [item.id for item in page.items]
            if page.next is None:
                break
            after = page.next
        assert seen == [ids[4], ids[2], ids[0], ids[3], ids[1]]
        waiting = await inbox.listing(uow, state=inbox.UNHANDLED)
        assert [i.id for i in waiting.items] == [ids[4], ids[2], ids[0]]
        assert waiting.next is None
        done = await inbox.listing(uow, state=inbox.HANDLED)
        assert [i.id for i in done.items] == [ids[3], ids[1]]
        assert (await inbox.listing(uow, kind="no_show")).items == []
        with pytest.raises(InvalidInput, match="not a page token"):
            await inbox.listing(uow, after="page two")
        with pytest.raises(InvalidInput, match="not an inbox state"):
            await inbox.listing(uow, state="open")


async def test_a_new_item_while_paging_is_neither_skipped_nor_repeated(make_uow, clock):
    ids = [await _message(make_uow, clock, "maya", f"note {n}", minutes=1) for n in range(3)]
    async with make_uow(readonly=True) as uow:
        first = await inbox.listing(uow, limit=2)
        first_ids = [i.id for i in first.items]
    newer = await _message(make_uow, clock, "sofia", "hola", minutes=1)
    async with make_uow(readonly=True) as uow:
        rest = await inbox.listing(uow, after=first.next, limit=2)
        top = await inbox.listing(uow, limit=1)
        assert first_ids + [i.id for i in rest.items] == [ids[2], ids[1], ids[0]]
        assert [i.id for i in top.items] == [newer]


async def test_marking_is_idempotent_and_undone(make_uow, clock):
    item_id = await _message(make_uow, clock, "maya", "Running late")
    async with make_uow() as uow:
        item, changed = await inbox.mark_handled(uow, item_id, by="desk")
        assert changed and (item.handled_by, item.handled_at) == ("desk", clock.now())
        clock.set(clock.now() + timedelta(minutes=5))
        item, changed = await inbox.mark_handled(uow, item_id, by="ana")
        assert not changed and item.handled_by == "desk", "the first one stays recorded"
        item, changed = await inbox.mark_unhandled(uow, item_id)
        assert changed and item.handled_at is None and item.handled_by is None
        assert (await inbox.mark_unhandled(uow, item_id))[1] is False
        with pytest.raises(NotFound, match="no inbox item 999"):
            await inbox.mark_handled(uow, 999, by="desk")


async def test_two_staff_marking_at_once_record_one_handler(make_uow, clock):
    item_id = await _message(make_uow, clock, "maya", "Running late")

    async def mark(by: str) -> bool:
        async with make_uow() as uow:
            _, changed = await inbox.mark_handled(uow, item_id, by=by)
            await asyncio.sleep(0.05)  # hold the transaction open while the other one tries
            await uow.commit()
            return changed

    for _ in range(3):
        outcomes = await asyncio.gather(mark("desk"), mark("ana"))
        assert sorted(outcomes) == [False, True]
        async with make_uow() as uow:
            item = await inbox.get_item(uow, item_id)
            assert item.handled_by == ("desk", "ana")[outcomes.index(True)]
            await inbox.mark_unhandled(uow, item_id)
            await uow.commit()


async def test_a_reply_is_queued_to_the_patient_recorded_and_handles_the_item(make_uow, clock):
    item_id = await _message(make_uow, clock, "maya", "Can I come at 3?")
    async with make_uow() as uow:
        answer = await inbox.reply(uow, item_id, by="desk", text="  Yes, 3 pm works.  ")
        await uow.commit()
    async with make_uow(readonly=True) as uow:
        item = await inbox.get_item(uow, item_id)
        row = await uow.session.get(OutboxMessage, answer.outbox_id)
        maya = await patient(uow, "maya")
        [kept] = await inbox.replies(uow, item_id)
        assert (kept.text, kept.staff_key, kept.outbox_id) == ("Yes, 3 pm works.", "desk", row.id)
        assert (row.kind, row.patient_id, row.staff_id, row.status) == (
            "staff_reply", maya.id, None, "pending")
        assert "text" not in row.params, "the reply's text stays in the inbox"
        assert (item.handled_by, item.handled_at) == ("desk", clock.now())


@pytest.mark.parametrize(("text", "error"), [
    ("   ", "the reply is empty"),
    ("x" * (inbox.MAX_REPLY_CHARS + 1), "1001 characters long; keep it to 1000"),
])
async def test_an_empty_or_too_long_reply_is_refused(make_uow, clock, text, error):
    item_id = await _message(make_uow, clock, "maya", "Can I come at 3?")
    async with make_uow() as uow:
        with pytest.raises(InvalidInput, match=error):
            await inbox.reply(uow, item_id, by="desk", text=text)


async def test_a_reply_to_an_alert_about_no_patient_is_refused(make_uow):
    async with make_uow() as uow:
        await outbox.alert_staff(uow, alert="staff_code_locked", purpose="lock:1", params={})
        item = await uow.session.scalar(select(InboxItem))
        with pytest.raises(InvalidInput, match="is not about a patient"):
            await inbox.reply(uow, item.id, by="desk", text="Hello")


async def test_an_opted_out_patient_gets_no_reply_and_the_desk_is_told_why(make_uow, clock):
    item_id = await _message(make_uow, clock, "maya", "Can I come at 3?")
    async with make_uow() as uow:
        (await patient(uow, "maya")).opted_out = True
        await uow.commit()
    async with make_uow() as uow:
        with pytest.raises(WrongState, match=r"opted out of messages .* nothing was sent"):
            await inbox.reply(uow, item_id, by="desk", text="Yes, 3 pm works.")
    async with make_uow(readonly=True) as uow:
        assert await uow.session.scalar(select(func.count()).select_from(InboxReply)) == 0
        assert await uow.session.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.kind == "staff_reply")) == 0
        assert (await inbox.get_item(uow, item_id)).handled_at is None


async def test_an_item_reads_as_its_alert_in_the_readers_language(make_uow, clock):
    item_id = await _message(make_uow, clock, "maya", "Can I come at 3?")
    async with make_uow() as uow:
        await outbox.alert_staff(uow, alert="no_renderer", purpose="gone:1", params={})
        gone = await uow.session.scalar(select(InboxItem).where(InboxItem.key == "gone:1"))
        clinic = await get_clinic(uow)
        message = await item_text(uow, clinic, await inbox.get_item(uow, item_id), translator("fr"))
        assert message == "Message de Maya Chen (patient 1) (sms) : Can I come at 3?"
        assert await item_text(uow, clinic, gone, translator("en")) == (
            "What this alert was about is gone (cancelled, merged or settled).")
