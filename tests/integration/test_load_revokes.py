"""A reload takes back the access the set-up file granted, and only that (issue 14 item 7).

On both databases: a staff member deleted from the file is retired (chat, alerts, /staff choice);
a chat id the file gave goes with its line while a /staff CODE chat of a listed member stays;
family links the file made go when the ward's ``guardians`` line or block goes, links the desk
made stay; the summary names each revocation, and a second load changes nothing.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.services import access, accounts, messages, outbox, staff
from bot.services.errors import NotFound
from bot.services.lookup import find_staff
from bot.storage.models import OutboxMessage, Patient, Staff, guardianship
from tests.integration.test_load import by_key, edited, guardians_of, load

pytestmark = pytest.mark.usefixtures("clinic")
ANA_BLOCK = '''[[staff]]
key = "ana"
name = "Ana Silva"
role = "practitioner"
practitioner = "ana"
alerts = ["no_show"]
'''
GUARDIANS_LINE = 'guardians = ["maya"]               # these patients\' accounts may act for Leo\n'
LEO_BLOCK = '''[[patients]]
key = "leo"
first_name = "Leo"
last_name = "Chen"
birth_date = "2015-06-11"
''' + GUARDIANS_LINE
LEO_PURCHASE = '''[[purchases]]
patient = "leo"
template = "massage-10"
purchased_on = "2026-09-15"
paid = "330.00"                    # first of three installments paid
'''


async def _register_chat(make_uow, key: str, chat_id: int) -> None:
    async with make_uow() as uow:
        await staff.register_chat(uow, (await by_key(uow, Staff, key)).id, chat_id)
        await uow.commit()


async def test_a_staff_member_deleted_from_the_file_is_retired(make_uow):
    await _register_chat(make_uow, "ana", 8002)  # /staff CODE
    summary = await load(make_uow, edited((ANA_BLOCK, "")))
    assert summary.changed
    assert summary.revoked == [
        "staff 'ana' is not in the file: no longer staff (no alerts, not choosable with "
        "/staff); Telegram chat 8002 is no longer a staff chat"]
    async with make_uow() as uow:
        ana = await by_key(uow, Staff, "ana")
        assert (ana.active, ana.telegram_chat_id, ana.alerts) == (False, None, [])
        assert await staff.staff_for_chat(uow, 8002) is None
        assert [m.key for m in await staff.all_staff(uow)] == ["desk"]
        with pytest.raises(NotFound):
            await staff.register_chat(uow, ana.id, 8002)
        with pytest.raises(NotFound, match="no longer in the clinic's set-up file"):
            await find_staff(uow, "ana")
        await outbox.alert_staff(uow, alert="no_show", purpose="test", params={})
        told = await uow.session.scalars(select(OutboxMessage.staff_id))
        assert ana.id not in set(told)
    assert not (await load(make_uow, edited((ANA_BLOCK, "")))).changed

    back = await load(make_uow)  # listed again: staff again, but the chat must be registered anew
    assert back.sections["staff"].updated == 1 and not back.revoked
    async with make_uow() as uow:
        ana = await by_key(uow, Staff, "ana")
        assert (ana.active, ana.telegram_chat_id, ana.alerts) == (True, None, ["no_show"])


async def test_a_chat_id_the_file_gave_goes_with_its_line_a_registered_one_stays(make_uow):
    await _register_chat(make_uow, "ana", 8002)
    summary = await load(make_uow, edited(
        ("telegram_chat_id = -1001234567890  # a group chat: negative id\n", "")))
    assert summary.revoked == ["staff 'desk': Telegram chat -1001234567890 is no longer a staff "
                               "chat (telegram_chat_id is not in the file)"]
    assert summary.sections["staff"].updated == 1
    async with make_uow() as uow:
        assert (await by_key(uow, Staff, "desk")).telegram_chat_id is None
        assert await staff.staff_for_chat(uow, -1001234567890) is None
        assert (await staff.staff_for_chat(uow, 8002)).key == "ana"


@pytest.mark.parametrize("removal", ["line", "empty list", "block"])
async def test_a_family_link_the_file_made_is_revoked_when_the_file_drops_it(make_uow, removal):
    async with make_uow() as uow:
        ids = dict((await uow.session.execute(select(Patient.key, Patient.id))).tuples().all())
        await access.add_guardian(uow, ids["sofia"], ids["leo"])  # the desk's own link
        await uow.commit()
    text = {
        "line": edited((GUARDIANS_LINE, "")),
        "empty list": edited((GUARDIANS_LINE, "guardians = []\n")),
        "block": edited((LEO_BLOCK, ""), (LEO_PURCHASE, "")),
    }[removal]
    summary = await load(make_uow, text)
    reason = "(not in its guardians)" if removal != "block" else "('leo' is not in the file)"
    assert summary.revoked == [f"'maya' no longer manages 'leo' {reason}"]
    async with make_uow() as uow:
        assert await guardians_of(uow, "leo") == ["sofia"]
        assert [p.id for p in await accounts.acting_for(uow, ids["maya"])] == [ids["maya"]]
    assert not (await load(make_uow, text)).changed


async def test_a_link_the_file_lists_again_comes_back_and_keeps_its_source(make_uow):
    await load(make_uow, edited((GUARDIANS_LINE, "")))
    summary = await load(make_uow)
    assert summary.sections["patients"].updated == 1 and not summary.revoked
    async with make_uow() as uow:
        rows = (await uow.session.execute(select(guardianship.c.source))).scalars().all()
        assert rows == ["file"]


async def test_a_merge_keeps_who_made_each_family_link(make_uow):
    async with make_uow() as uow:
        ids = dict((await uow.session.execute(select(Patient.key, Patient.id))).tuples().all())
        await access.add_guardian(uow, ids["sofia"], ids["maya"])
        await accounts.merge(uow, ids["sofia"], ids["maya"], by="desk")
        await uow.commit()
        links = set((await uow.session.execute(
            select(guardianship.c.guardian_id, guardianship.c.ward_id, guardianship.c.source)
        )).tuples().all())
    assert links == {(ids["sofia"], ids["leo"], "file")}



async def test_a_retired_manager_is_not_told_what_goes_to_the_whole_desk(make_uow):
    """Messages for "reception and managers" (a patient's message when nobody subscribed to
    them, a refund, a failed delivery) reach current staff only."""
    as_manager = ANA_BLOCK.replace('role = "practitioner"', 'role = "manager"')
    await load(make_uow, edited((ANA_BLOCK, as_manager)))
    async with make_uow() as uow:
        maya = await by_key(uow, Patient, "maya")
        assert await messages.pass_to_clinic(
            uow, patient_id=maya.id, text="before", channel="sms") == 2
        await uow.commit()
    await load(make_uow, edited((ANA_BLOCK, "")))
    async with make_uow() as uow:
        ana = await by_key(uow, Staff, "ana")
        assert await messages.pass_to_clinic(
            uow, patient_id=maya.id, text="after", channel="sms") == 1
        told = set(await uow.session.scalars(
            select(OutboxMessage.staff_id).where(OutboxMessage.purpose.like("message:%"))))
        assert told == {ana.id, (await by_key(uow, Staff, "desk")).id}, "ana only before"
        assert [m.key for m in await staff.all_staff(uow)] == ["desk"]
