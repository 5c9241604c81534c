"""A conversation belongs to whoever the channel proves now (issue 14 item 6, RULES.md 19).

Maya's SMS conversation is linked to her file. When her phone changes (a reload of the set-up
file, the desk, a merge), a text from the old number is a stranger's: registration, with nothing
of her place kept; the new number opens her file. A Telegram account linked to another profile
follows the account. On both databases.
"""

from __future__ import annotations

from sqlalchemy import select, update

from bot.clinicfile import parse_clinic_text
from bot.services import accounts
from bot.services.setup import load_clinic
from bot.storage.models import Conversation, Patient
from tests.conftest import EXAMPLE_FILE
from tests.dialogs.conftest import MAYA, STRANGER

NEW_PHONE = "+14165550155"


async def _set_phone(make_uow, key: str, phone: str | None) -> None:
    async with make_uow() as uow:
        await uow.session.execute(update(Patient).where(Patient.key == key).values(phone=phone))
        await uow.commit()


async def test_a_reload_with_a_new_phone_moves_the_file_to_the_new_number(make_chat, make_uow):
    old = make_chat(MAYA)
    assert "Hi Maya!" in (await old.say("hi")).text
    text = EXAMPLE_FILE.read_text(encoding="utf-8").replace(
        'phone = "+14165550101"', f'phone = "{NEW_PHONE}"', 1)
    async with make_uow() as uow:
        await load_clinic(uow, parse_clinic_text(text, "clinic.toml"))
        await uow.commit()

    reply = await old.say("hi")
    assert "first name" in reply.text and "Maya" not in reply.text
    await old.say("Menu")
    assert "Book an appointment" not in " ".join(old.labels)
    new = make_chat(NEW_PHONE)
    assert "Hi Maya!" in (await new.say("hi")).text
    async with make_uow() as uow:
        chat = await uow.session.scalar(
            select(Conversation).where(Conversation.address == MAYA))
        assert chat.patient_id is None and chat.state.get("phone") == MAYA


async def test_a_desk_change_mid_dialog_keeps_nothing_of_her_place(make_chat, make_uow):
    maya = make_chat(MAYA)
    await maya.say("hi")
    await maya.choose("Book an appointment")
    assert "Leo" in " ".join(maya.labels)  # who is it for: her ward is offered
    await _set_phone(make_uow, "maya", NEW_PHONE)

    reply = await maya.choose("Leo")  # whoever has the old number now
    assert "first name" in reply.text and "Leo" not in reply.text
    async with make_uow() as uow:
        chat = await uow.session.scalar(
            select(Conversation).where(Conversation.address == MAYA))
        assert chat.patient_id is None and chat.dialog == "register"
        assert "for" not in chat.state


async def test_a_recycled_number_given_to_another_patient_opens_their_file(make_chat, make_uow):
    maya = make_chat(MAYA)
    await maya.say("hi")
    await _set_phone(make_uow, "maya", NEW_PHONE)
    await _set_phone(make_uow, "sofia", MAYA)  # the carrier gave Maya's old number to Sofía
    reply = await maya.say("hi")
    assert "Sofía" in reply.text and "Maya" not in reply.text
    assert "Leo" not in " ".join(maya.labels)


async def test_a_merge_without_confirmation_leaves_the_strangers_phone_unknown(
    make_chat, make_uow
):
    stranger = make_chat(STRANGER)
    await stranger.say("hi")
    for answer in ("Maya", "Chen", "1988-04-02"):
        await stranger.say(answer)
    assert "You are registered" in (await stranger.choose("Yes")).text
    async with make_uow() as uow:
        ids = dict((await uow.session.execute(select(Patient.phone, Patient.id))).tuples().all())
        await accounts.merge(uow, ids[MAYA], ids[STRANGER], by="desk")
        await uow.commit()

    reply = await stranger.say("hi")
    assert "first name" in reply.text and "Hi Maya" not in reply.text
    assert "Hi Maya!" in (await make_chat(MAYA).say("hi")).text


async def test_a_merge_with_the_phone_confirmed_lets_it_open_the_file(make_chat, make_uow):
    stranger = make_chat(STRANGER)
    await stranger.say("hi")
    for answer in ("Maya", "Chen", "1988-04-02"):
        await stranger.say(answer)
    await stranger.choose("Yes")
    async with make_uow() as uow:
        ids = dict((await uow.session.execute(select(Patient.phone, Patient.id))).tuples().all())
        await accounts.merge(uow, ids[MAYA], ids[STRANGER], by="desk", link_channels=True)
        await uow.commit()
    assert "Hi Maya!" in (await stranger.say("hi")).text


async def test_a_telegram_account_linked_to_another_profile_follows_the_account(
    make_chat, make_uow
):
    async with make_uow() as uow:
        ids = dict((await uow.session.execute(select(Patient.key, Patient.id))).tuples().all())
        await accounts.link_telegram(uow, ids["maya"], 4242)
        await uow.commit()
    tg = make_chat(channel="telegram", phone=None, telegram_user_id=4242)
    tg.address = "4242"
    assert "Hi Maya!" in (await tg.say("/menu")).text
    async with make_uow() as uow:
        await accounts.link_telegram(uow, ids["sofia"], 4242)  # the account is Sofía's now
        await uow.commit()
    assert "Sofía" in (await tg.say("/menu")).text
