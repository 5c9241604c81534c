"""Hot statements (bot.storage.hot) on both databases: inside the unit of work's transaction,
stored as SQLAlchemy stores the same values, seen by statement listeners."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, text

from bot.services import inbound
from bot.storage.models import InboundMessage
from tests.statements import statements

SID = "SM" + "c" * 32
OTHER = "SM" + "d" * 32


async def test_a_hot_statement_is_rolled_back_with_its_transaction(make_uow):
    async with make_uow() as uow:
        assert (await inbound.claim(uow, "sms", SID)).owned
        # no commit: leaving the unit of work rolls the claim back
    async with make_uow() as uow:
        assert (await uow.session.scalars(select(InboundMessage.id))).all() == []
        assert (await inbound.claim(uow, "sms", SID)).owned, "nothing was left behind"


async def test_a_hot_statement_stores_values_as_the_orm_does(make_uow, clock):
    lease = timedelta(seconds=6)
    async with make_uow() as uow:
        claim = await inbound.claim(uow, "sms", SID, lease=lease)
        assert claim.owned and claim.token
        await inbound.settle(uow, "sms", SID, claim.token, "<Response />")
        uow.session.add(InboundMessage(
            channel="sms", external_id=OTHER, created_at=clock.now(), owner=claim.token,
            lease_until=None, answered_at=clock.now(), reply="<Response />"))
        await uow.commit()
    async with make_uow() as uow:
        raw = (await uow.session.execute(text(
            "SELECT external_id, created_at, answered_at, lease_until, reply FROM inbound_message"
            " ORDER BY external_id"))).all()
        assert [tuple(row[1:]) for row in raw if row[0] == SID] == [
            tuple(row[1:]) for row in raw if row[0] == OTHER]
        row = (await uow.session.scalars(
            select(InboundMessage).where(InboundMessage.external_id == SID))).one()
        assert row.created_at == row.answered_at == clock.now() and row.lease_until is None


async def test_statement_listeners_see_hot_statements(make_uow, engine):
    with statements(engine) as seen:
        async with make_uow() as uow:
            claim = await inbound.claim(uow, "sms", SID)
            assert claim.token
            await inbound.settle(uow, "sms", SID, claim.token, "<Response />")
            await uow.commit()
    written = [" ".join(s.split()).upper() for s in seen]
    assert any(s.startswith("INSERT INTO INBOUND_MESSAGE") for s in written)
    assert any(s.startswith("UPDATE INBOUND_MESSAGE") for s in written)
