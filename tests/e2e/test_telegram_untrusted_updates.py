"""Telegram updates nobody should be able to misuse or crash (issue 14, items 8 and 12), through
the real server and Application against the Bot API stand-in, in webhook mode.

Group chats: a patient dialog runs only in the user's private chat, so no member of a group acts
as a patient who pressed a button there; staff in a staff group act as themselves. Edited
messages, crafted staff buttons and update shapes nothing expects get 200 and a polite answer
or nothing (hypothesis posts arbitrary updates to ``/telegram/webhook``), while a real failure
before the turn commits still answers 500 (tests/e2e/test_telegram_modes.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bot.storage.models import Conversation, NoShow, StaffCodeGuard
from tests.e2e.telegram_harness import SECRET, Telegram, TgUser, telegram_server
from tests.e2e.telegram_standin import Call
from tests.e2e.test_telegram_staff import DESK_CHAT, no_show_alert

GROUP = -1009876543210
HEADERS = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
STALE = "earlier message"


@pytest.fixture
async def tg(clinic: None, database_url: str, clock) -> AsyncIterator[Telegram]:
    async with telegram_server(database_url, clock, mode="webhook") as player:
        yield player


def carrier(chat_id: int, text: str = "Main menu") -> Call:
    """A message of the bot's in ``chat_id`` whose button is pressed."""
    return Call("sendMessage", {"chat_id": chat_id, "_message_id": 4242, "text": text})


async def post(tg: Telegram, update: dict[str, Any]) -> int:
    response = await tg.http.post("/telegram/webhook", json=update, headers=HEADERS)
    return response.status_code


async def test_group_members_never_act_as_a_patient(tg, make_uow):
    maya = TgUser(tg, 7001, "Maya")
    await maya.say("/start")
    assert "Hi Maya" in await maya.share_contact("+14165550101")
    maya_in_group = TgUser(tg, 7001, "Maya", chat_id=GROUP)
    eve_in_group = TgUser(tg, 7003, "Eve", chat_id=GROUP)
    start = len(tg.standin.calls)
    await maya_in_group.press_data("book", carrier(GROUP))
    await eve_in_group.press_data("appointments", carrier(GROUP))
    answers = [c for c in tg.standin.calls[start:] if c.method == "answerCallbackQuery"]
    assert len(answers) == 2 and all(STALE in c.params["text"] for c in answers)
    for command in ("/start", "/book", "/appointments"):
        assert "private chat" in await eve_in_group.say(command)
    sent = [c for c in tg.standin.calls[start:] if c.method != "answerCallbackQuery"]
    assert all(c.chat_id == GROUP and "private chat" in c.text for c in sent), sent
    assert not any("Maya" in str(c.params) for c in tg.standin.calls[start:])
    async with make_uow() as uow:
        addresses = set((await uow.session.scalars(select(Conversation.address))).all())
    assert addresses == {"7001"}, "no conversation belongs to the group"
    assert "Who is this for?" in await maya.press("Book an appointment")


async def test_staff_in_the_desk_group_act_as_themselves(tg, make_uow, engine, clock):
    no_show_id, alert = await no_show_alert(tg, make_uow, engine, clock)
    ana = TgUser(tg, 8002, "Ana")
    await ana.say("/staff desk-code-4321")
    await ana.press("Ana Silva")
    ana_in_desk = TgUser(tg, 8002, "Ana", chat_id=DESK_CHAT)
    assert "Resolved by Ana Silva" in await ana_in_desk.press("Redeem package use", call=alert)
    async with make_uow() as uow:
        found = await uow.session.get(NoShow, no_show_id)
        assert found.resolved_by == "Ana Silva (Telegram)"
    other = TgUser(tg, 8009, "Temp", chat_id=DESK_CHAT)  # a member without a registration
    assert "Open: choose again" in await other.press("Undo")
    assert (await uow_no_show(make_uow, no_show_id)).resolution is None


async def test_edits_crafted_buttons_and_odd_shapes_get_200(tg, make_uow, engine, clock):
    maya = TgUser(tg, 7001, "Maya")
    for text in ("hello", "/help", "/staff desk-code-4321", "/today"):
        edited = maya.message(text=text, edit_date=1)
        if text.startswith("/"):
            edited["entities"] = [{"type": "bot_command", "offset": 0,
                                   "length": len(text.split()[0])}]
        assert "only read new messages" in await maya.send(maya.update(edited_message=edited))
    desk = TgUser(tg, 8001, "Desk", chat_id=DESK_CHAT)
    reply_edit = desk.message(text="an edited reply", edit_date=1, reply_to_message={
        "message_id": 1, "date": 0, "chat": desk._chat(), "text": "x"})
    assert await post(tg, desk.update(edited_message=reply_edit)) == 200
    no_show_id, alert = await no_show_alert(tg, make_uow, engine, clock)
    for data in ("noshow:999999:redeem", f"noshow:{no_show_id}:bogus", "noshow:1",
                 f"noshow:{no_show_id}:undo:x", "appt:99999999999999999999:arrive",
                 "merge:99999999999999999999:1"):
        start = len(tg.standin.calls)
        assert await post(tg, desk.button_update(data, alert)) == 200, data
        [answer] = [c for c in tg.standin.calls[start:] if c.method == "answerCallbackQuery"]
        assert STALE in answer.params.get("text", "") or "Nothing was changed" in str(
            tg.standin.calls[start:]), data
    assert (await uow_no_show(make_uow, no_show_id)).resolution is None
    for shape in ("hi", 5, [], None, {"x": 1}, {"message_id": "a", "chat": 3}):
        assert await post(tg, maya.update(message=shape)) == 200, shape
    async with make_uow() as uow:
        assert (await uow.session.scalars(select(StaffCodeGuard))).all() == [], \
            "an edited /staff is no attempt"
    assert "share your phone" in await maya.say("/start")


async def uow_no_show(make_uow, no_show_id: int) -> NoShow:
    async with make_uow() as uow:
        found = await uow.session.get(NoShow, no_show_id)
        uow.session.expunge_all()
        return found


# -- fuzzing the webhook -------------------------------------------------------------------

KINDS = ["message", "edited_message", "channel_post", "edited_channel_post", "business_message",
         "edited_business_message", "callback_query", "inline_query", "chosen_inline_result",
         "shipping_query", "pre_checkout_query", "poll", "poll_answer", "my_chat_member",
         "chat_member", "chat_join_request", "message_reaction", "chat_boost"]
junk = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=20),
                 st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=5),
                                                                      st.integers(), max_size=3))
chats = st.sampled_from([
    {"id": 7001, "type": "private", "first_name": "Maya"},
    {"id": 7003, "type": "private", "first_name": "Eve"},
    {"id": GROUP, "type": "group", "title": "G"},
    {"id": DESK_CHAT, "type": "supergroup", "title": "Desk"},
    {"id": -1005555, "type": "channel", "title": "C"},
])
users = st.sampled_from([{"id": 7001, "is_bot": False, "first_name": "Maya"},
                         {"id": 7003, "is_bot": False, "first_name": "Eve"},
                         {"id": 8001, "is_bot": False, "first_name": "Desk"}])
texts = st.one_of(st.text(max_size=30), st.sampled_from([
    "/start", "/book", "/staff desk-code-4321", "/staff x", "/today", "/noshows", "/help",
    "/stop", "/menu@clinic_test_bot", "1", "menu", "😀", "/"]))
button_data = st.one_of(st.text(max_size=70), st.sampled_from([
    "book", "menu", "noshow:1:redeem", "noshow:1:fee:missed", "noshow:1:undo:0",
    "noshow:999999:redeem", "noshow:1:bogus", "appt:1:arrive", "appt:1:noshow", "merge:1:2",
    "keepsep:1", "staffreg:1:1:abc", "staffreg:x"]))


@st.composite
def messages(draw: st.DrawFn) -> dict[str, Any]:
    text = draw(texts)
    message: dict[str, Any] = {"message_id": draw(st.integers(1, 10**6)), "date": 0,
                               "chat": draw(chats), "text": text}
    if draw(st.booleans()):
        message["from"] = draw(users)
    if text.startswith("/") and draw(st.booleans()):
        message["entities"] = [{"type": "bot_command", "offset": 0,
                                "length": len(text.split()[0]) if text.split() else 1}]
    if draw(st.booleans()):
        message["reply_to_message"] = {"message_id": 1, "date": 0, "chat": message["chat"],
                                       "text": "x"}
    if draw(st.booleans()):
        message["edit_date"] = 1
    extra = draw(st.sampled_from([None, "contact", "payment", "junk"]))
    if extra == "contact":
        message["contact"] = {"phone_number": draw(st.sampled_from(["+14165550101", "x", ""])),
                              "first_name": "M", "user_id": draw(st.sampled_from([7001, 7003]))}
    elif extra == "payment":
        message["successful_payment"] = {"currency": "CAD", "total_amount": 1,
                                         "invoice_payload": draw(st.text(max_size=12)),
                                         "telegram_payment_charge_id": "c",
                                         "provider_payment_charge_id": "p"}
    elif extra == "junk":
        message[draw(st.sampled_from(["text", "chat", "from", "entities", "date"]))] = draw(junk)
    return message


@st.composite
def updates(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(KINDS))
    if kind == "callback_query":
        value: Any = {"id": "q", "from": draw(users), "chat_instance": "ci",
                      "data": draw(button_data)}
        if draw(st.booleans()):
            value["message"] = draw(messages())
    elif kind == "pre_checkout_query":
        value = {"id": "p", "from": draw(users), "currency": "CAD",
                 "total_amount": draw(st.integers(0, 10**6)),
                 "invoice_payload": draw(st.text(max_size=12))}
    elif "message" in kind or "post" in kind:
        value = draw(messages())
    else:
        value = draw(junk)
    if draw(st.integers(0, 9)) == 0:
        value = draw(junk)
    return {kind: value}


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(batch=st.lists(updates(), min_size=1, max_size=4))
@example(batch=[{"message": {"message_id": 1, "date": None, "text": "",  # found by this test
                             "chat": {"id": 7001, "type": "private", "first_name": "Maya"}}}])
async def test_any_update_shape_gets_200(tg, batch):
    maya = TgUser(tg, 7001, "Maya")
    for kinds in batch:
        update = maya.update(**kinds)
        assert await post(tg, update) == 200, update
