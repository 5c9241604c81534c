"""A conversation that went quiet for 30 minutes starts again from a greeting and the menu
(issue 16 item 4), keeping nothing half-chosen; STOP/START/HELP and menu choices still work.

The clock is Monday 2 November 2026, 08:00 in Toronto; Maya owns a Physio 5-pack.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.dialogs.quiet import QUIET_PERIOD
from bot.storage.models import Appointment, Conversation
from tests.dialogs.chat import Chat
from tests.dialogs.conftest import MAYA

MENU_FIRST = "Book an appointment"
NOTE = "It has been a while, so let's start again."


async def conversation(make_uow, address: str = MAYA, channel: str = "sms") -> Conversation:
    async with make_uow(readonly=True) as uow:
        row = await uow.session.scalar(select(Conversation).where(
            Conversation.channel == channel, Conversation.address == address))
        uow.session.expunge(row)
        return row


async def half_booked(chat) -> None:
    """Maya stops at "Which time?" with her package, Tuesday, chosen."""
    await chat.say("hi")
    await chat.choose("Book an appointment")
    await chat.choose("Maya")
    await chat.choose("Physio 5-pack")
    reply = await chat.choose("Tue 3 Nov")
    assert "Which time on Tue 3 Nov?" in reply.text
    await chat.choose("Morning")


async def test_a_message_after_the_quiet_period_greets_with_the_menu(chat, clock, make_uow):
    await half_booked(chat)
    clock.advance(timedelta(days=2))
    reply = await chat.say("2")
    assert reply.text.startswith(NOTE) and "Hi Maya! What would you like to do?" in reply.text
    assert "not one of the choices" not in reply.text and "Please answer" not in reply.text
    assert chat.labels[0] == MENU_FIRST, "2 meant a time then: it chooses nothing now"
    row = await conversation(make_uow)
    assert (row.dialog, row.step) == ("menu", "start")
    assert not {"data", "history", "for"} & set(row.state), "nothing half-chosen is kept"
    reply = await chat.say("BACK")
    assert chat.labels[0] == MENU_FIRST and "Which time" not in reply.text
    async with make_uow(readonly=True) as uow:
        assert (await uow.session.scalars(select(Appointment))).all() == []


async def test_within_the_quiet_period_the_step_goes_on(chat, clock):
    await half_booked(chat)
    clock.advance(QUIET_PERIOD - timedelta(seconds=1))
    reply = await chat.choose("10:00 a.m.")
    assert "Tue 3 Nov, 10:00 a.m." in reply.text and chat.labels[0] == "Confirm"
    clock.advance(QUIET_PERIOD)
    reply = await chat.choose("Confirm")
    assert reply.text.startswith(NOTE) and chat.labels[0] == MENU_FIRST, "quiet: not booked"


async def test_the_quiet_period_counts_from_the_last_message(chat, clock):
    await half_booked(chat)
    for _ in range(3):  # each answer within 30 minutes keeps the conversation fresh
        clock.advance(timedelta(minutes=20))
        await chat.say("help")
    reply = await chat.choose("10:00 a.m.")
    assert "Tue 3 Nov, 10:00 a.m." in reply.text


async def test_a_main_menu_choice_by_its_words_still_works(chat, clock):
    await half_booked(chat)
    clock.advance(timedelta(hours=3))
    reply = await chat.say("my packages")
    assert "Who is this for?" in reply.text and NOTE not in reply.text
    reply = await chat.choose("Maya")
    assert "Your packages" in chat.text and "Physio 5-pack" in chat.labels[0]


async def test_a_number_at_the_menu_still_chooses_after_the_quiet_period(chat, clock):
    await chat.say("hi")
    clock.advance(timedelta(days=1))
    reply = await chat.choose("Talk to the clinic")
    assert "Type your message" in reply.text and NOTE not in reply.text


async def test_help_stop_and_start_still_work(chat, clock, make_uow):
    await half_booked(chat)
    clock.advance(timedelta(hours=1))
    reply = await chat.say("HELP")
    assert "Send STOP" in reply.text and chat.labels[0] == MENU_FIRST
    assert "data" not in (await conversation(make_uow)).state
    await half_booked(chat)
    clock.advance(timedelta(hours=1))
    reply = await chat.say("STOP")
    assert "no more messages" in reply.text and chat.outcome.opted_out
    clock.advance(timedelta(hours=1))
    reply = await chat.say("START")
    assert "You will get our messages again." in reply.text and chat.labels[0] == MENU_FIRST


async def test_a_menu_button_pressed_after_the_quiet_period_opens_it(bot_engine, clock):
    tg = Chat(bot_engine, channel="telegram", address="7001", phone=MAYA, telegram_user_id=7001)
    await half_booked_by_button(tg)
    clock.advance(timedelta(hours=2))
    reply = await tg.send(choice="9:15")  # a time button of the old message: not kept
    assert reply.text.startswith(NOTE) and tg.labels[0] == MENU_FIRST
    await half_booked_by_button(tg)
    clock.advance(timedelta(hours=2))
    reply = await tg.send(choice="packages")  # the old menu's "My packages" button
    assert "Who is this for?" in reply.text and NOTE not in reply.text


async def half_booked_by_button(tg: Chat) -> None:
    await tg.say("hi")
    for label in ("Book an appointment", "Maya", "Physio 5-pack", "Tue 3 Nov"):
        await tg.press(label)
    assert "Which time on Tue 3 Nov?" in tg.text


async def test_a_request_typed_after_the_quiet_period_is_understood(chat, clock):
    await half_booked(chat)
    clock.advance(timedelta(hours=2))
    reply = await chat.say("how many sessions do I have left?")
    assert NOTE not in reply.text and "Which time" not in reply.text
    assert "Physio 5-pack" in " ".join([reply.text, *chat.labels])
