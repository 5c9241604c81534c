"""Invitations to manage a patient (issue 18, item 3) against both databases.

Created with a code stored as a hash; accepted once (two acceptances racing in parallel tasks:
exactly one wins); refused for oneself and when already a guardian without using it up;
expired by the injected clock; revoked and resent (a new code, the old one dead); wrong codes
throttled per chat and locked out (the overall lock alerts the desk once per lock period, also
when two batches of wrong codes race to trip it); the SMS queued through the outbox and wiped
once the code dies; migration 0018 down and up.
"""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Any

import pytest
from alembic import command
from sqlalchemy import func, inspect, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.delivery import notifications
from bot.i18n import translator
from bot.services import accounts, audit, invitation_codes, invitations
from bot.services.clinic import get_clinic
from bot.services.errors import InvalidInput, NotFound, WrongState
from bot.storage.migrate import alembic_config, upgrade
from bot.storage.models import (
    AuditEntry,
    Invitation,
    InvitationGuard,
    OutboxMessage,
    Staff,
    guardianship,
)
from tests.integration._builders import patient

pytestmark = pytest.mark.usefixtures("clinic")
DESK = audit.Actor("desk", "cli")


async def _invite(make_uow, key: str = "leo", **kw: Any) -> invitations.Issued:
    async with make_uow() as uow:
        ward = await patient(uow, key)
        issued = await invitations.create(uow, ward.id, actor=DESK, **kw)
        await uow.commit()
        return issued


async def _accept(make_uow, code: str, key: str) -> invitations.Acceptance:
    async with make_uow() as uow:
        who = await patient(uow, key)
        done = await invitations.accept(uow, invitation_codes.digest(code), who.id)
        await uow.commit()
        return done


async def _links(make_uow) -> list[tuple[int, int]]:
    async with make_uow() as uow:
        rows = await uow.session.execute(
            select(guardianship.c.guardian_id, guardianship.c.ward_id).order_by(
                guardianship.c.guardian_id))
        return [tuple(r) for r in rows.all()]


def test_codes_are_typeable_and_recognised() -> None:
    for _ in range(200):
        code = invitation_codes.new_code()
        assert invitation_codes.read_code(code) == code
        assert invitation_codes.read_code(f" {code[:4].lower()}-{code[4:]} ") == code
        assert len(code) == 8 and code.isalnum()
    for text in ("Thursday", "1988-04-02", "20261207", "BCDFGHJK", "book", "10:30am",
                 "tomorrow", "2345 6789", "B2C3D4F5G"):
        assert invitation_codes.read_code(text) is None


async def test_an_invitation_is_accepted_once_and_audited(make_uow) -> None:
    issued = await _invite(make_uow)
    async with make_uow() as uow:
        row = await uow.session.get(Invitation, issued.invitation_id)
        assert row is not None and row.code_hash == invitation_codes.digest(issued.code)
        assert row.expires_at == uow.clock.now() + timedelta(days=7)
    assert (await _accept(make_uow, issued.code, "sofia")) == invitations.Acceptance(
        invitations.ACCEPTED_NOW, "Leo")
    async with make_uow() as uow:
        sofia, leo = (await patient(uow, "sofia")).id, (await patient(uow, "leo")).id
        [view] = await invitations.invitations_of(uow, leo)
        assert (view.status, view.accepted_by_id, view.accepted_by) == (
            "accepted", sofia, "Sofía Ramírez")
    assert (sofia, leo) in await _links(make_uow)
    assert (await _accept(make_uow, issued.code, "maya")).outcome == invitations.USED
    async with make_uow() as uow:
        entries = (await uow.session.execute(
            select(AuditEntry.action, AuditEntry.summary))).tuples().all()
    assert [a for a, _ in entries] == ["invitation.create"]
    assert issued.code not in entries[0][1]


async def test_self_and_already_a_guardian_use_nothing_up(make_uow) -> None:
    issued = await _invite(make_uow)
    assert (await _accept(make_uow, issued.code, "leo")).outcome == invitations.SELF
    assert (await _accept(make_uow, issued.code, "maya")).outcome == invitations.ALREADY
    assert (await _accept(make_uow, issued.code, "sofia")).outcome == invitations.ACCEPTED_NOW


async def test_expiry_follows_the_clock(make_uow, clock) -> None:
    issued = await _invite(make_uow, days=2)
    clock.advance(timedelta(days=2))
    assert (await _accept(make_uow, issued.code, "sofia")).outcome == invitations.LAPSED
    async with make_uow() as uow:
        [view] = await invitations.invitations_of(uow, issued.patient_id)
        assert view.status == "expired"
        # An expired invitation may be resent: a new code and a new expiry.
        again = await invitations.resend(uow, issued.invitation_id, actor=DESK)
        await uow.commit()
    assert (await _accept(make_uow, issued.code, "sofia")).outcome == invitations.UNKNOWN
    assert (await _accept(make_uow, again.code, "sofia")).outcome == invitations.ACCEPTED_NOW


async def test_revoke_and_resend(make_uow) -> None:
    issued = await _invite(make_uow, sms_phone="416 555 0177")
    async with make_uow() as uow:
        again = await invitations.resend(uow, issued.invitation_id, actor=DESK,
                                         sms_phone="+14165550178")
        await uow.commit()
    assert again.code != issued.code and again.invitation_id == issued.invitation_id
    async with make_uow() as uow:
        rows = (await uow.session.execute(
            select(OutboxMessage.purpose, OutboxMessage.params).order_by(OutboxMessage.id)
        )).tuples().all()
    assert rows[0] == ("invitation:1:round:1", {"invitation_id": 1})  # the old code wiped
    assert rows[1][1]["code"] == again.code and rows[1][1]["phone"] == "+14165550178"
    async with make_uow() as uow:
        await invitations.revoke(uow, issued.invitation_id, actor=DESK)
        await uow.commit()
    assert (await _accept(make_uow, again.code, "sofia")).outcome == invitations.WITHDRAWN
    async with make_uow() as uow:
        with pytest.raises(WrongState, match="was revoked"):
            await invitations.revoke(uow, issued.invitation_id, actor=DESK)
        with pytest.raises(WrongState, match="was revoked"):
            await invitations.resend(uow, issued.invitation_id, actor=DESK)
        with pytest.raises(NotFound, match="no invitation 99"):
            await invitations.revoke(uow, 99, actor=DESK)
        with pytest.raises(InvalidInput, match="not a phone number"):
            await invitations.create(uow, issued.patient_id, actor=DESK, sms_phone="call me")
        with pytest.raises(InvalidInput, match="1 to 30 days"):
            await invitations.create(uow, issued.patient_id, actor=DESK, days=31)
        with pytest.raises(NotFound, match="no patient 999"):
            await invitations.create(uow, 999, actor=DESK)
        params = await uow.session.scalars(select(OutboxMessage.params))
        assert all("code" not in p for p in params)
    assert await _links(make_uow) == [(1, 2)]


async def test_wrong_codes_are_throttled_per_chat(make_uow) -> None:
    async def attempt(address: str, correct: bool) -> bool:
        async with make_uow() as uow:
            gate = await invitation_codes.gate(uow, "sms", address)
            if gate.open:
                await invitation_codes.count(uow, gate, correct=correct)
            await uow.commit()
            return gate.open

    for _ in range(invitation_codes.CHAT_FAILURES):
        assert await attempt("+14165550190", correct=False)
    assert not await attempt("+14165550190", correct=True)  # locked: not even checked
    assert await attempt("+14165550191", correct=True)  # another chat is not
    async with make_uow() as uow:
        assert await uow.session.scalar(
            select(func.count()).select_from(InvitationGuard)) >= 2


async def _wrong_codes(make_uow, addresses: list[str]) -> None:
    for address in addresses:
        async with make_uow() as uow:
            gate = await invitation_codes.gate(uow, "sms", address)
            if gate.open:
                await invitation_codes.count(uow, gate, correct=False)
            await uow.commit()


async def _lock_alerts(make_uow) -> list[tuple[int, int | None, dict[str, Any] | None]]:
    async with make_uow() as uow:
        rows = await uow.session.execute(
            select(OutboxMessage.id, OutboxMessage.staff_id, OutboxMessage.params)
            .where(OutboxMessage.kind == invitation_codes.LOCKED_ALERT)
            .order_by(OutboxMessage.id))
        return [tuple(row) for row in rows.all()]


async def test_overall_lock_alerts_the_desk_once_per_lock(make_uow, clock) -> None:
    async with make_uow() as uow:
        desk = set(await uow.session.scalars(
            select(Staff.id).where(Staff.role.in_(invitation_codes.DESK_ROLES))))
        uow.session.add(InvitationGuard(
            scope=invitation_codes.ALL, failures=invitation_codes.ALL_FAILURES - 5,
            window_started_at=clock.now()))
        await uow.commit()
    assert desk
    # two batches of four wrong codes, from eight chats, race: the fifth trips the lock
    await asyncio.gather(
        _wrong_codes(make_uow, [f"+141655502{i:02d}" for i in range(4)]),
        _wrong_codes(make_uow, [f"+141655503{i:02d}" for i in range(4)]))
    alerts = await _lock_alerts(make_uow)
    assert {staff for _, staff, _ in alerts} == desk and len(alerts) == len(desk)
    until = clock.now() + invitation_codes.LOCKOUT
    assert alerts[0][2] == {"failures": invitation_codes.ALL_FAILURES,
                                "until": until.isoformat()}
    async with make_uow() as uow:
        alert = await uow.session.get(OutboxMessage, alerts[0][0])
        assert alert is not None
        notice = await notifications.render(uow, await get_clinic(uow), alert,
                                            translator("en_CA"))
    assert notice is not None
    assert notice.text.startswith("200 wrong invitation codes were sent within an hour: "
                                  "invitation codes are locked for everyone until ")
    assert "+1416" not in notice.text
    await _wrong_codes(make_uow, ["+14165550400"])  # refused unchecked: no new alert
    assert len(await _lock_alerts(make_uow)) == len(desk)
    clock.advance(invitation_codes.LOCKOUT)  # the next lock period alerts again
    async with make_uow() as uow:
        overall = await uow.session.scalar(select(InvitationGuard).where(
            InvitationGuard.scope == invitation_codes.ALL))
        assert overall is not None
        overall.failures, overall.window_started_at = invitation_codes.ALL_FAILURES - 1, clock.now()
        await uow.commit()
    await _wrong_codes(make_uow, ["+14165550401"])
    assert len(await _lock_alerts(make_uow)) == 2 * len(desk)


async def test_two_people_racing_with_one_code_one_wins(make_uow) -> None:
    issued = await _invite(make_uow)
    async with make_uow() as uow:
        extra = await accounts.register_online(
            uow, first_name="Ada", last_name="Chen", birth_date=date(1980, 1, 1),
            phone="+14165550177")
        await uow.commit()
        extra_key = extra.id

    async def take(guardian_id: int) -> str:
        async with make_uow() as uow:
            done = await invitations.accept(uow, invitation_codes.digest(issued.code),
                                            guardian_id)
            await asyncio.sleep(0.05)  # hold the transaction open while the other one runs
            await uow.commit()
            return done.outcome

    async with make_uow() as uow:
        sofia = (await patient(uow, "sofia")).id
    results = await asyncio.gather(take(sofia), take(extra_key))
    assert sorted(results) == [invitations.ACCEPTED_NOW, invitations.USED]
    links = await _links(make_uow)
    assert len([link for link in links if link[1] == issued.patient_id]) == 2  # maya + winner


async def _migrate(engine: AsyncEngine, revision: str) -> None:
    async with engine.begin() as conn:
        def go(sync_conn: Any) -> None:
            config = alembic_config()
            config.attributes["connection"] = sync_conn
            command.downgrade(config, revision)

        await conn.run_sync(go)


async def test_migration_0018_goes_down_and_up(engine: AsyncEngine) -> None:
    async def tables() -> set[str]:
        async with engine.connect() as conn:
            return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))

    assert {"invitation", "invitation_guard"} <= await tables()
    await _migrate(engine, "0017")
    assert not {"invitation", "invitation_guard"} & await tables()
    await upgrade(engine)
    assert {"invitation", "invitation_guard"} <= await tables()


async def test_the_sms_skips_a_phone_that_opted_out_and_a_merged_ward_follows(make_uow) -> None:
    issued = await _invite(make_uow, "leo", sms_phone="+14165550102")  # Sofía's phone
    async with make_uow() as uow:
        sofia = await patient(uow, "sofia")
        await accounts.opt_out(uow, sofia.id)
        message = await uow.session.scalar(select(OutboxMessage))
        assert message is not None
        assert await invitations.sms_destination(uow, message) == (None, "the phone opted out")
        await accounts.opt_in(uow, sofia.id)
        assert await invitations.sms_destination(uow, message) == ("+14165550102", "")
        # Leo's file merged into a registration: the invitation is for the kept profile.
        leo = await patient(uow, "leo")
        copy = await accounts.register_online(uow, first_name="Leo", last_name="Chen",
                                              birth_date=leo.birth_date)
        await accounts.merge(uow, copy.id, leo.id, by="desk")
        await uow.commit()
        kept = copy.id
    assert (await _accept(make_uow, issued.code, "sofia")) == invitations.Acceptance(
        invitations.ACCEPTED_NOW, "Leo")
    async with make_uow() as uow:
        sofia_id = (await patient(uow, "sofia")).id
    assert (sofia_id, kept) in await _links(make_uow)
