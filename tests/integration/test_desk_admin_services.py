"""What the console's inbox, audit and staff pages added to the services (issue 17): inbox
actions recorded in the audit log (ids only, never the text; nothing when nothing changed),
the patients' names of a page of items, audit page tokens, the staff roster and who set a
console password."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bot.services import audit, desk_auth, inbox, messages
from bot.services.errors import InvalidInput
from bot.storage.models import AuditEntry, InboxItem
from tests.integration._builders import patient

pytestmark = pytest.mark.usefixtures("clinic")
DESK = audit.Actor("desk", "console")


async def _entries(make_uow) -> list[tuple[str, str, int | None, str]]:
    async with make_uow(readonly=True) as uow:
        return [(e.staff, e.action, e.patient_id, e.summary) for e in (
            await uow.session.scalars(select(AuditEntry).order_by(AuditEntry.id))).all()]


async def test_inbox_actions_are_audited_once_without_the_text(make_uow):
    async with make_uow() as uow:
        maya = await patient(uow, "maya")
        await messages.pass_to_clinic(uow, patient_id=maya.id, text="Private words",
                                      channel="sms")
        item = await uow.session.scalar(select(InboxItem))
        assert item is not None
        maya_id, item_id = maya.id, item.id
        assert await inbox.patient_names(uow, [item]) == {maya_id: "Maya Chen"}
        assert await inbox.patient_names(uow, []) == {}
        await inbox.mark_handled(uow, item_id, by="desk", actor=DESK)
        await inbox.mark_handled(uow, item_id, by="desk", actor=DESK)  # no change: no entry
        await inbox.mark_unhandled(uow, item_id, actor=DESK)
        await inbox.mark_unhandled(uow, item_id, actor=DESK)
        answer = await inbox.reply(uow, item_id, by="desk", text="Yes", actor=DESK)
        await uow.commit()
    assert await _entries(make_uow) == [
        ("desk", "inbox.handled", maya_id, f"inbox item {item_id} handled"),
        ("desk", "inbox.unhandled", maya_id, f"inbox item {item_id} waits again"),
        ("desk", "inbox.reply", maya_id, f"reply {answer.id} to inbox item {item_id}"),
    ]
    async with make_uow(readonly=True) as uow:
        for entry in (await uow.session.scalars(select(AuditEntry))).all():
            assert "Private" not in str(entry.before) + str(entry.after) + entry.summary


async def test_audit_page_tokens_go_both_ways_and_refuse_anything_else():
    key = (datetime(2026, 11, 3, 15, 4, 5, 123456, tzinfo=UTC), 42)
    assert audit.parse_page_token(audit.page_token(key)) == key
    for bad in ("", "x", "1-2-3", "-1-2", "12"):
        with pytest.raises(InvalidInput):
            audit.parse_page_token(bad)


async def test_the_roster_and_who_set_a_password(make_uow, clock):
    async with make_uow() as uow:
        assert [(r.key, r.role, r.chat_linked, r.password_set_at) for r in
                await desk_auth.roster(uow)] == [
            ("desk", "reception", True, None), ("ana", "practitioner", False, None)]
        await desk_auth.set_password(uow, "ana", "a-long-password", actor=DESK)
        await desk_auth.set_password(uow, "desk", "another-password")  # no actor: no entry
        await uow.commit()
    async with make_uow(readonly=True) as uow:
        rows = await desk_auth.roster(uow)
        assert all(r.password_set_at == clock.now() for r in rows)
    assert await _entries(make_uow) == [
        ("desk", "staff.password", None, "console password of staff ana set")]
