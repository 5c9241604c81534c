"""Bad input never crashes a dialog, loses its place, or leaves the database inconsistent.

Hypothesis drives a conversation with arbitrary text (control characters, emoji, markup, huge
messages), keywords, numbers in and out of range and stale button presses, choosing options at
random so every reachable step is visited. After every message the bot must answer, not
apologise for an internal error, and the clinic's invariants must hold.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text

from bot.dialogs.engine import Engine
from bot.dialogs.registry import build_dialogs
from bot.storage.db import create_engine
from bot.storage.models import Conversation, PatientPackage
from tests.dialogs.chat import Chat
from tests.dialogs.conftest import MAYA, STRANGER

APOLOGY = "something went wrong"
texts = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(blacklist_categories=()), max_size=200),
    st.sampled_from(["", " ", "0", "-1", "99", "1.5", "MENU", "back", "HELP", "1)", "<b>hi</b>",
                     "'; DROP TABLE patient; --", "😀😀", "\x00\x1b[31m", "tomorrow",
                     "1988-04-02", "yes", "no", "START"]),
    st.builds(lambda n: "x" * n, st.integers(min_value=1000, max_value=5000)),
)
actions = st.lists(
    st.one_of(
        st.tuples(st.just("choose"), st.integers(min_value=0, max_value=12)),
        st.tuples(st.just("say"), texts),
        st.tuples(st.just("press"), st.text(max_size=70)),
    ),
    min_size=1,
    max_size=25,
)


async def _consistent(db) -> None:
    async with db.connect() as conn:
        bad = await conn.scalar(
            select(PatientPackage.id).where(
                (PatientPackage.available < 0)
                | (PatientPackage.uses
                   != PatientPackage.redeemed + PatientPackage.booked + PatientPackage.available)
            )
        )
        assert bad is None
        overlaps = await conn.scalar(text(
            "SELECT count(*) FROM appointment a JOIN appointment b ON a.id < b.id"
            " AND a.practitioner_id = b.practitioner_id AND a.status <> 'cancelled'"
            " AND b.status <> 'cancelled' AND a.starts_at < b.ends_at AND b.starts_at < a.ends_at"
        ))
        assert overlaps == 0


async def _play(chat: Chat, script) -> None:
    await chat.say("hi")
    for kind, value in script:
        if kind == "choose":
            options = chat.last.options
            reply = await chat.send(str(value % len(options) + 1) if options else "1")
        elif kind == "press":
            reply = await chat.send(choice=value or "x")
        else:
            reply = await chat.say(value)
        assert reply.text.strip(), chat.transcript[-6:]
        assert APOLOGY not in reply.text, "\n".join(chat.transcript[-6:])


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(script=actions, phone=st.sampled_from([MAYA, STRANGER]))
async def test_arbitrary_input_never_breaks_a_dialog(bot_engine, engine, script, phone):
    chat = Chat(bot_engine, channel="sms", address=phone, phone=phone)
    await _play(chat, script)
    await _consistent(engine)


async def test_a_dialog_continues_after_the_engine_is_rebuilt(database_url, clinic, clock):
    first_db = create_engine(database_url)
    first = Chat(Engine(first_db, clock, build_dialogs()), address=STRANGER, phone=STRANGER)
    await first.say("hello")
    await first.say("Ada")
    await first_db.dispose()  # the process "restarts": nothing survives but the database

    second_db = create_engine(database_url)
    try:
        second = Chat(Engine(second_db, clock, build_dialogs()), address=STRANGER, phone=STRANGER)
        reply = await second.say("Lovelace")
        assert "date of birth" in reply.text
        await second.say("1990-12-10")
        reply = await second.choose("Yes")
        assert "Ada" in reply.text and "registered" in reply.text
        async with second_db.connect() as conn:
            step = await conn.scalar(select(Conversation.dialog).where(
                Conversation.address == STRANGER))
            assert step == "menu"
    finally:
        await second_db.dispose()
