"""Hot statements (bot.storage.hot) on both databases: inside the unit of work's transaction,
stored and read as SQLAlchemy stores and reads the same values, seen by statement listeners,
their errors raised as documented."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

import pytest
from sqlalchemy import bindparam, insert, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from bot.services import inbound
from bot.storage.attach import Columns
from bot.storage.hot import Hot
from bot.storage.models import Conversation, InboundMessage
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


CONVERSATION_ROW = Hot(select(*Columns(Conversation).columns).where(
    Conversation.id == bindparam("id")))
TAKEN = Hot(insert(InboundMessage).values(
    channel=bindparam("channel"), external_id=bindparam("sid"), created_at=bindparam("at")))


async def _conversation(make_uow, clock) -> int:
    async with make_uow() as uow:
        conversation = Conversation(channel="sms", address="+15145550101", dialog="book",
                                    step="day", state={"data": {"day": "2026-12-08"}},
                                    updated_at=clock.now())
        uow.session.add(conversation)
        await uow.commit()
        return conversation.id


async def test_first_and_later_statements_of_a_transaction_read_the_same(make_uow, clock):
    """On PostgreSQL the first statement goes through SQLAlchemy (it begins the transaction) and
    later ones straight to asyncpg: both convert every column alike (JSON, aware times)."""
    conversation_id = await _conversation(make_uow, clock)
    async with make_uow() as uow:
        first = await CONVERSATION_ROW.records(uow, {"id": conversation_id})
        later = await CONVERSATION_ROW.records(uow, {"id": conversation_id})
        assert first == later
        (row,) = later
        assert row[6] == {"data": {"day": "2026-12-08"}} and row[7] == clock.now()
        assert await SAVE.count(uow, {"conversation": conversation_id, "step": "time"}) == 1
        assert await SAVE.count(uow, {"conversation": conversation_id + 1000, "step": "time"}) == 0
        await uow.commit()


SAVE = Hot(update(Conversation).where(Conversation.id == bindparam("conversation")).values(
    step=bindparam("step")))


async def test_a_driver_error_arrives_as_sqlalchemy_raises_it(make_uow, clock, database_url):
    """A unique violation in a later statement is SQLAlchemy's IntegrityError on PostgreSQL,
    its state code kept (SQLite: the driver's own, as documented)."""
    values = {"channel": "sms", "sid": SID, "at": clock.now()}
    async with make_uow() as uow:
        await TAKEN.count(uow, values)
        expected = (IntegrityError if database_url.startswith("postgresql")
                    else sqlite3.IntegrityError)
        with pytest.raises(expected) as raised:
            await TAKEN.count(uow, values)
        if database_url.startswith("postgresql"):
            assert raised.value.orig.sqlstate == "23505"
            assert not raised.value.connection_invalidated


async def test_a_connection_lost_under_a_statement_is_not_used_again(make_uow, engine):
    """The server ends the session between two statements: the error is SQLAlchemy's, says the
    connection was invalidated, and the pool hands out a working one afterwards."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no server to lose")
    async with make_uow() as uow:
        await uow.connection()
        (pid,) = (await (await uow.connection()).execute(text("SELECT pg_backend_pid()"))).one()
        async with make_uow() as other:
            await (await other.connection()).execute(
                text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        with pytest.raises(DBAPIError) as raised:
            await SAVE.count(uow, {"conversation": 1, "step": "time"})
        assert raised.value.connection_invalidated
    async with make_uow() as uow:
        assert await SAVE.count(uow, {"conversation": 1, "step": "time"}) == 0
