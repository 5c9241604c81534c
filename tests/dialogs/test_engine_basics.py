"""The conversation contract: menu, numbers and words, MENU/BACK/HELP, STOP/START, stale input."""

from __future__ import annotations

import asyncio

from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from bot.dialogs.engine import UNSIZED_POOL_TURNS, Engine, _pool_size
from bot.dialogs.types import Inbound, Outcome
from bot.services.clinic import get_clinic
from bot.storage.models import InboxItem, OutboxMessage, Patient
from tests.dialogs.conftest import SOFIA, STRANGER
from tests.statements import statements

MENU = [
    "Book an appointment", "My packages", "My appointments", "Buy a package",
    "Memberships and invoices", "Language", "Talk to the clinic",
]


async def test_a_known_phone_opens_the_main_menu(chat):
    reply = await chat.say("hi")
    assert "Maya" in reply.text
    assert chat.labels == MENU


async def test_an_out_of_range_number_explains_and_asks_again(chat):
    await chat.say("hi")
    reply = await chat.say("9")
    assert "9 is not one of the choices" in reply.text
    assert chat.labels == MENU


async def test_gibberish_asks_again_without_losing_the_place(chat):
    await chat.say("hi")
    reply = await chat.say("asdkjh qwe")
    assert chat.labels == MENU and "number" in reply.text


async def test_words_from_a_label_choose_it(chat, make_chat):
    await chat.say("hello")
    reply = await chat.say("language")
    assert "Which language" in reply.text
    sofia = make_chat(SOFIA)  # Spanish: her words are Spanish, accents optional
    await sofia.say("hola")
    reply = await sofia.say("idioma")
    assert "¿Qué idioma prefiere?" in reply.text


async def test_menu_help_and_back_work_anywhere(chat):
    await chat.say("hi")
    await chat.choose("Talk to the clinic")
    reply = await chat.say("help")
    assert "MENU" in reply.text and "Type your message" in reply.text
    reply = await chat.say("BACK")
    assert chat.labels == MENU
    await chat.choose("Language")
    reply = await chat.say("Menu")
    assert chat.labels == MENU


async def test_a_guardian_is_asked_who_the_request_is_for(chat):
    await chat.say("hi")
    reply = await chat.choose("My packages")
    assert "Who is this for?" in reply.text
    assert chat.labels == ["Maya Chen (me)", "Leo Chen"]


async def test_stop_opts_out_and_start_opts_back_in(chat, make_uow):
    await chat.say("hi")
    reply = await chat.say("STOP")
    assert "no more messages" in reply.text and chat.outcome.opted_out
    async with make_uow() as uow:
        maya = await uow.session.scalar(select(Patient).where(Patient.key == "maya"))
        assert maya.opted_out
    reply = await chat.say("start")
    assert "again" in reply.text and chat.labels == MENU
    async with make_uow() as uow:
        maya = await uow.session.scalar(select(Patient).where(Patient.key == "maya"))
        assert not maya.opted_out


async def test_twilio_opt_out_words_and_field_count_as_stop(chat, make_chat):
    for word in ("cancel", "UNSUBSCRIBE", "quit"):
        reply = await chat.say(word)
        assert "no more messages" in reply.text
    sofia = make_chat(SOFIA)
    await sofia.send("anything", opt_out=True)
    assert sofia.outcome.opted_out


async def test_an_unknown_phone_registers(make_chat, make_uow):
    stranger = make_chat(STRANGER)
    reply = await stranger.say("hello")
    assert "first name" in reply.text
    await stranger.say("Maya")
    await stranger.say("Chen")
    reply = await stranger.say("not a date")
    assert "could not read" in reply.text
    reply = await stranger.say("1988-04-02")
    assert "Maya Chen" in reply.text and "1988" in reply.text
    reply = await stranger.choose("Yes")
    assert "registered" in reply.text and stranger.labels[0] == "Book an appointment"
    async with make_uow() as uow:
        new = await uow.session.scalar(select(Patient).where(Patient.phone == STRANGER))
        assert new.online_registration and new.first_name == "Maya"
        alerts = (await uow.session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "registration"))).all()
        assert alerts, "a duplicate-looking registration alerts staff"


async def test_talk_to_the_clinic_queues_the_message_for_staff(make_chat, make_uow):
    sofia = make_chat(SOFIA)
    await sofia.say("hola")
    await sofia.choose("Hablar con la clínica")
    reply = await sofia.say("Can I bring my own towel?")
    assert "Su mensaje se envió a la clínica" in reply.text
    async with make_uow() as uow:
        queued = (await uow.session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "message"))).all()
        assert queued and "text" not in queued[0].params  # kept once, in the desk's inbox
        item = await uow.session.get(InboxItem, queued[0].params["inbox_id"])
        assert item is not None and item.text == "Can I bring my own towel?"


async def test_choosing_a_language_switches_it(make_chat, chat):
    sofia = make_chat(SOFIA)
    await sofia.say("hola")
    await sofia.choose("Idioma")
    reply = await sofia.choose("Français")
    assert "français" in reply.text.casefold() and "Que voulez-vous faire?" in reply.text
    await chat.say("hi")
    await chat.choose("Language")
    reply = await chat.choose("Español")
    assert "Desde ahora le hablaré en español" in reply.text


async def test_a_registration_can_be_corrected_before_it_is_saved(make_chat, make_uow):
    stranger = make_chat(STRANGER)
    await stranger.say("hello")
    await stranger.say("Ada")
    await stranger.say("Lovelace")
    await stranger.say("1815-12-10")
    reply = await stranger.say("1990-12-10")
    reply = await stranger.choose("No")
    assert "start again" in reply.text and "first name" in reply.text
    async with make_uow() as uow:
        assert await uow.session.scalar(select(Patient).where(Patient.phone == STRANGER)) is None


async def test_turns_beyond_the_pool_size_wait_first_come_first_served(engine, clock):
    """At most the pool's size of turns run at once; the others start in the order they came."""
    dialog_engine = Engine(engine, clock, {})
    running, most, started = 0, 0, []

    async def turn(inbound: Inbound, settle: object, claim: object, *, guarded: bool) -> Outcome:
        assert not guarded
        nonlocal running, most
        started.append(inbound.address)
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.01)
        running -= 1
        return Outcome()

    dialog_engine._handle = turn  # type: ignore[method-assign]
    addresses = [f"+1416555{n:04d}" for n in range(4 * engine.pool.size())]
    await asyncio.gather(*(dialog_engine.handle(Inbound(channel="sms", address=a, text="hi"))
                           for a in addresses))
    assert most == engine.pool.size() and started == addresses


async def test_a_pool_without_a_size_still_lets_turns_run_side_by_side(tmp_path):
    unpooled = create_async_engine(f"sqlite+aiosqlite:///{tmp_path}/x.db", poolclass=NullPool)
    try:
        assert _pool_size(unpooled) == UNSIZED_POOL_TURNS > 1
    finally:
        await unpooled.dispose()


async def test_a_turn_writes_the_conversation_once(make_chat, engine):
    """Moving to another step used to flush the conversation before the question (which reads
    the database) and again at the end; when only the conversation is pending, it is written
    once."""
    sofia = make_chat(SOFIA)  # no family: "My packages" lists her packages at once
    await sofia.say("hola")

    def updates(seen: list[str]) -> int:
        return sum(s.lstrip().upper().startswith("UPDATE CONVERSATION") for s in seen)

    with statements(engine) as seen:
        await sofia.say("2")  # My packages: a new dialog and step, whose question reads them
        assert sofia.labels and updates(seen) == 1
        seen.clear()
        await sofia.say("MENU")
        assert len(sofia.labels) == len(MENU) and updates(seen) == 1


async def test_a_linked_conversation_and_its_patient_are_read_in_one_statement(chat, engine):
    await chat.say("hola")
    with statements(engine) as seen:
        await chat.say("MENU")
    selects = [" ".join(s.split()).lower() for s in seen
               if s.lstrip().upper().startswith("SELECT")]
    assert chat.labels == MENU
    reading_patient = [s for s in selects if "from patient" in s or "join patient" in s]
    assert len(reading_patient) == 1 and "from conversation left outer join patient" in (
        reading_patient[0])


async def test_a_question_sees_what_the_turn_changed(chat, make_uow):
    """Opting back in changes the patient before the menu is asked: that is flushed first."""
    await chat.say("STOP")
    reply = await chat.say("START")
    assert "You will get our messages again." in reply.text and chat.labels == MENU
    async with make_uow() as uow:
        maya = await uow.session.scalar(select(Patient).where(Patient.phone == chat.phone))
        assert maya is not None and maya.opted_out is False


async def test_a_turn_reads_the_set_up_version_with_the_conversation(chat, engine, make_uow):
    """No statement of its own for the set-up version; a change made in another transaction
    is still seen by the next turn (the version comes with the conversation's row)."""
    await chat.say("hi")
    with statements(engine) as seen:
        reply = await chat.say("HELP")
    versions = [s for s in seen if "setup_version" in s]
    assert len(versions) == 1 and "FROM conversation" in versions[0]
    assert "Harbour Physio & Wellness" in reply.text
    async with make_uow() as uow:
        clinic = await get_clinic(uow)
        clinic.name = "Harbour Physio East"
        await uow.commit()
    assert "Harbour Physio East" in (await chat.say("HELP")).text
