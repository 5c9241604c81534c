"""The storage layer on both databases: migrations, money, UTC times, rollback, constraints."""

from __future__ import annotations

import gc
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import delete, event, select, text
from sqlalchemy.exc import IntegrityError

from bot.storage.migrate import current_revision, head_revision, upgrade
from bot.storage.models import Invoice, Patient
from bot.storage.uow import UnitOfWork


async def _patient(uow: UnitOfWork) -> Patient:
    patient = Patient(first_name="Ada", last_name="Lee", created_at=uow.clock.now())
    uow.session.add(patient)
    await uow.session.flush()
    return patient


async def test_migrations_reach_head_and_are_idempotent(engine):
    await upgrade(engine)
    assert await current_revision(engine) == head_revision()


async def test_money_and_times_round_trip_exactly(uow, make_uow):
    toronto = timezone(timedelta(hours=-5))
    async with uow:
        patient = await _patient(uow)
        uow.session.add(
            Invoice(
                patient_id=patient.id, kind="package", description="x",
                amount=Decimal("990.01"), paid=Decimal("0.10"), issued_on=date(2026, 1, 1),
                due_on=date(2026, 1, 1), created_at=datetime(2026, 3, 8, 1, 30, tzinfo=toronto),
            )
        )
        await uow.commit()
    async with make_uow() as again:
        invoice = await again.session.scalar(select(Invoice))
        assert invoice is not None
        assert invoice.amount == Decimal("990.01") and invoice.paid == Decimal("0.10")
        assert invoice.created_at == datetime(2026, 3, 8, 6, 30, tzinfo=UTC)
        assert invoice.created_at.tzinfo is not None


async def test_leaving_without_commit_rolls_back(uow, make_uow):
    async with uow:
        await _patient(uow)
    async with make_uow() as again:
        assert (await again.session.scalars(select(Patient))).all() == []


async def test_an_exception_rolls_back(uow, make_uow):
    with pytest.raises(RuntimeError):
        async with uow:
            await _patient(uow)
            raise RuntimeError("boom")
    async with make_uow() as again:
        assert (await again.session.scalars(select(Patient))).all() == []


async def test_naive_datetimes_are_refused(uow):
    async with uow:
        uow.session.add(Patient(first_name="A", last_name="B", created_at=datetime(2026, 1, 1)))
        with pytest.raises(Exception, match="naive"):
            await uow.session.flush()


async def test_foreign_keys_are_enforced(uow):
    async with uow:
        with pytest.raises(IntegrityError):
            await uow.session.execute(
                text(
                    "INSERT INTO invoice (patient_id, kind, description, amount, paid, status,"
                    " issued_on, due_on, created_at) VALUES (999, 'x', 'x', 1, 0, 'open',"
                    " '2026-01-01', '2026-01-01', '2026-01-01 00:00:00')"
                )
            )


async def test_a_kept_unit_of_work_reads_a_row_once_however_often_it_is_asked_for(engine, clock):
    async with UnitOfWork(engine, clock) as uow:
        patient_id = (await _patient(uow)).id
        await uow.commit()
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        for keep, reads in ((True, 1), (False, 2)):
            statements.clear()
            async with UnitOfWork(engine, clock, keep_loaded=keep) as uow:
                assert (await uow.session.get(Patient, patient_id)).first_name == "Ada"
                gc.collect()  # nothing refers to the patient now: only a kept one stays mapped
                assert (await uow.session.get(Patient, patient_id)).first_name == "Ada"
            assert sum("FROM patient" in s for s in statements) == reads
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)


async def test_remembered_lookups_last_until_the_transaction_ends(uow):
    calls: list[int] = []

    async def lookup() -> int:
        calls.append(1)
        return len(calls)

    async with uow:
        assert [await uow.remember("week", lookup) for _ in range(3)] == [1, 1, 1]
        await uow.commit()
        assert await uow.remember("week", lookup) == 2  # a new transaction reads again
    async with uow.fresh() as again:
        assert await again.remember("week", lookup) == 3


async def test_lookups_remembered_until_a_write_are_read_again_after_one(uow):
    async def patients() -> int:
        return len((await uow.session.scalars(select(Patient))).all())

    async with uow:
        assert await uow.remember("patients", patients, until_write=True) == 0
        uow.session.add(Patient(first_name="Ada", last_name="Lee", created_at=uow.clock.now()))
        # pending: flushed first, as the query would have (autoflush), and read again
        assert await uow.remember("patients", patients, until_write=True) == 1
        assert await uow.remember("patients", patients, until_write=True) == 1
        with uow.session.no_autoflush:  # where autoflush is off, pending rows stay pending
            uow.session.add(Patient(first_name="Bo", last_name="Lee",
                                    created_at=uow.clock.now()))
            assert await uow.remember("patients", patients, until_write=True) == 1
        await uow.session.flush()
        assert await uow.remember("patients", patients, until_write=True) == 2
        # a statement that writes (not a flush) counts too
        await uow.session.execute(delete(Patient).where(Patient.first_name == "Bo"))
        assert await uow.remember("patients", patients, until_write=True) == 1


async def test_insert_ignore_many_counts_exactly_across_chunks_and_conflicts(uow, make_uow):
    from bot.storage.models import Conversation
    from bot.storage.upsert import insert_ignore_many

    def rows(numbers: range) -> list[dict[str, object]]:
        return [{"channel": "sms", "address": f"+1416555{n:04d}", "state": {},
                 "updated_at": uow.clock.now()} for n in numbers]

    async with uow:
        assert await insert_ignore_many(uow, Conversation, rows(range(0, 300)), [
            "channel", "address"], chunk=128) == 300
        # 1,203 more rows, 300 of them already there, in chunks of 128
        assert await insert_ignore_many(uow, Conversation, rows(range(0, 1203)), [
            "channel", "address"], chunk=128) == 903
        assert await insert_ignore_many(uow, Conversation, [], ["channel", "address"]) == 0
        await uow.commit()
    async with make_uow() as again:
        stored = (await again.session.scalars(select(Conversation.address))).all()
        assert len(stored) == len(set(stored)) == 1203
