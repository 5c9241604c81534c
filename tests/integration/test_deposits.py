"""Deposits (issue 20) on both databases: opened once, released once, applied or credited.

The example clinic with a deposit of $20.00 held 120 minutes; the clock starts on Monday
2 November 2026, 08:00 in Toronto. Maya books a physio follow-up ($90.00) with Ana downtown on
Tuesday 3 November at 10:00 as a patient, without her package.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal

from alembic import command
from sqlalchemy import func, inspect, select

from bot.delivery import notifications
from bot.i18n import translator
from bot.services import appointments, arrivals, billing, deposit_release, deposits, payments
from bot.services.clinic import get_clinic
from bot.storage.migrate import alembic_config, upgrade
from bot.storage.models import (
    Appointment,
    Clinic,
    CreditEntry,
    Invoice,
    InvoiceReminder,
    OutboxMessage,
    Payment,
)
from tests.integration._builders import book as staff_book
from tests.integration._builders import local, package_of, patient

TUESDAY_10 = local(2026, 11, 3, 10)
TIMEOUT = 60


async def _ask_deposits(make_uow, amount: str = "20.00", hold: int = 120) -> None:
    async with make_uow() as uow:
        clinic = await uow.session.get(Clinic, 1)
        clinic.deposit, clinic.deposit_hold_minutes = Decimal(amount), hold
        clinic.setup_version += 1
        await uow.commit()


async def _patient_books(make_uow, *, package: bool = False) -> int:
    async with make_uow() as uow:
        appointment = await staff_book(uow, "maya", TUESDAY_10)  # staff: never a deposit
        await appointments.cancel(uow, appointment.id, by="staff")
        maya = await patient(uow, "maya")
        booked = await appointments.book(
            uow, patient_id=maya.id, practitioner_id=appointment.practitioner_id,
            location_id=appointment.location_id, fee_id=appointment.fee_id,
            starts_at=TUESDAY_10,
            package_id=(await package_of(uow, "maya")).id if package else None,
            booked_by="patient",
        )
        await uow.commit()
        return booked.id


async def _deposits(make_uow) -> list[Invoice]:
    async with make_uow() as uow:
        rows = await uow.session.scalars(select(Invoice).where(Invoice.kind == "deposit"))
        found = list(rows.all())
        uow.session.expunge_all()
        return found


async def test_a_patient_booking_without_a_package_opens_one_deposit(clinic, make_uow):
    await _ask_deposits(make_uow)
    appointment_id = await _patient_books(make_uow)
    [deposit] = await _deposits(make_uow)
    assert (deposit.appointment_id, deposit.amount, deposit.status, deposit.description) == (
        appointment_id, Decimal("20.00"), "open", "Physiotherapy follow-up")
    async with make_uow(readonly=True) as uow:
        chased = await uow.session.get(InvoiceReminder, deposit.id)
    assert chased is None, "the hold, not the unpaid reminders, chases it"


async def test_staff_and_package_bookings_never_ask_a_deposit(clinic, make_uow):
    await _ask_deposits(make_uow)
    await _patient_books(make_uow, package=True)
    assert await _deposits(make_uow) == []  # the staff booking before it asked none either


async def test_the_deposit_is_at_most_the_fees_price(clinic, make_uow):
    await _ask_deposits(make_uow, amount="500.00")
    await _patient_books(make_uow)
    [deposit] = await _deposits(make_uow)
    assert deposit.amount == Decimal("90.00")


async def test_two_requests_at_once_open_one_deposit(clinic, make_uow):
    async with make_uow() as uow:
        appointment_id = (await staff_book(uow, "maya", TUESDAY_10)).id
        await uow.commit()
    await _ask_deposits(make_uow)
    barrier = asyncio.Barrier(6)

    async def compete() -> int:
        async with make_uow() as uow:
            if uow.dialect == "postgresql":
                await get_clinic(uow)  # inside a transaction before anyone asks
            await barrier.wait()
            appointment = await uow.session.get(Appointment, appointment_id)
            invoice = await deposits.ask(uow, appointment)
            await uow.commit()
            assert invoice is not None
            return invoice.id

    ids = await asyncio.wait_for(asyncio.gather(*(compete() for _ in range(6))), TIMEOUT)
    [deposit] = await _deposits(make_uow)
    assert set(ids) == {deposit.id}


async def _released(make_uow) -> list[OutboxMessage]:
    async with make_uow() as uow:
        rows = await uow.session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == deposit_release.DEPOSIT_RELEASED))
        found = list(rows.all())
        uow.session.expunge_all()
        return found


async def test_an_unpaid_deposit_releases_the_time_once_after_the_hold(clinic, make_uow, clock):
    await _ask_deposits(make_uow)
    appointment_id = await _patient_books(make_uow)
    clock.advance(timedelta(minutes=119))
    async with make_uow() as uow:
        assert await deposit_release.release_unpaid(uow) == 0
        await uow.commit()
    clock.advance(timedelta(minutes=1))

    async def sweep() -> int:
        async with make_uow() as uow:
            count = await deposit_release.release_unpaid(uow)
            await uow.commit()
            return count

    counts = await asyncio.wait_for(asyncio.gather(sweep(), sweep()), TIMEOUT)
    assert sorted(counts) == [0, 1], "two sweeps at once release it once"
    assert await sweep() == 0
    async with make_uow() as uow:
        appointment = await uow.session.get(Appointment, appointment_id)
        assert appointment.status == "cancelled"
    [deposit] = await _deposits(make_uow)
    assert deposit.status == "void"
    [told] = await _released(make_uow)
    assert told.purpose == f"deposit:{deposit.id}:released"
    assert told.params == {"appointment_id": appointment_id, "invoice_id": deposit.id}


async def test_a_paid_deposit_keeps_the_time_and_pays_the_visit(clinic, make_uow, clock):
    await _ask_deposits(make_uow)
    appointment_id = await _patient_books(make_uow)
    [deposit] = await _deposits(make_uow)
    async with make_uow() as uow:
        await payments.receive(uow, deposit.id, Decimal("20.00"), method="telegram",
                               external_id="tg-deposit")
        await uow.commit()
    clock.advance(timedelta(hours=5))
    async with make_uow() as uow:
        assert await deposit_release.release_unpaid(uow) == 0
        await uow.commit()
    clock.set(TUESDAY_10)
    async with make_uow() as uow:
        await arrivals.arrive(uow, appointment_id)
        await uow.commit()
    async with make_uow() as uow:
        session = await uow.session.scalar(
            select(Invoice).where(Invoice.kind == "session",
                                  Invoice.appointment_id == appointment_id))
        assert (session.amount, session.paid, session.status) == (
            Decimal("90.00"), Decimal("20.00"), "open")
        methods = (await uow.session.scalars(
            select(Payment.method).where(Payment.invoice_id == session.id))).all()
        assert methods == ["deposit"]
        await arrivals.undo_arrival(uow, appointment_id)
        await uow.commit()
    async with make_uow() as uow:
        session = await uow.session.get(Invoice, session.id)
        assert (session.status, session.paid) == ("void", Decimal("0.00"))
        assert await uow.session.scalar(
            select(func.count()).select_from(Payment).where(Payment.method == "deposit")) == 0
        assert (await uow.session.get(Invoice, deposit.id)).status == "paid"


async def _cancel(make_uow, appointment_id: int, by: str) -> None:
    async with make_uow() as uow:
        await appointments.cancel(uow, appointment_id, by=by)  # type: ignore[arg-type]
        await uow.commit()


async def _pay(make_uow, invoice_id: int) -> None:
    async with make_uow() as uow:
        await billing.record_payment(uow, invoice_id, Decimal("20.00"))
        await uow.commit()


async def _credits(make_uow) -> list[tuple[str, Decimal]]:
    async with make_uow() as uow:
        rows = await uow.session.execute(select(CreditEntry.source, CreditEntry.amount))
        return [tuple(row) for row in rows.tuples()]


async def test_a_cancellation_in_time_turns_a_paid_deposit_into_credit(clinic, make_uow):
    await _ask_deposits(make_uow)
    appointment_id = await _patient_books(make_uow)
    [deposit] = await _deposits(make_uow)
    await _pay(make_uow, deposit.id)
    await _cancel(make_uow, appointment_id, "patient")
    assert await _credits(make_uow) == [("refund", Decimal("20.00"))]


async def test_a_late_cancellation_leaves_the_deposit_with_the_clinic(clinic, make_uow, clock):
    await _ask_deposits(make_uow)
    appointment_id = await _patient_books(make_uow)
    [deposit] = await _deposits(make_uow)
    await _pay(make_uow, deposit.id)
    clock.set(TUESDAY_10 - timedelta(hours=2))  # inside the 24 hours: only staff may cancel
    await _cancel(make_uow, appointment_id, "staff")
    assert await _credits(make_uow) == []
    [kept] = await _deposits(make_uow)
    assert (kept.status, kept.paid) == ("paid", Decimal("20.00"))


async def test_cancelling_voids_an_unpaid_deposit(clinic, make_uow):
    await _ask_deposits(make_uow)
    appointment_id = await _patient_books(make_uow)
    await _cancel(make_uow, appointment_id, "patient")
    [deposit] = await _deposits(make_uow)
    assert deposit.status == "void" and await _credits(make_uow) == []


async def test_the_patient_reads_why_the_time_was_released(clinic, make_uow, clock):
    await _ask_deposits(make_uow)
    await _patient_books(make_uow)
    clock.advance(timedelta(minutes=120))
    async with make_uow() as uow:
        await deposit_release.release_unpaid(uow)
        await uow.commit()
    [told] = await _released(make_uow)
    async with make_uow() as uow:
        message = await uow.session.get(OutboxMessage, told.id)
        notice = await notifications.render(uow, await get_clinic(uow), message,
                                            translator("en_CA"))
    assert notice is not None and notice.text == (
        "Harbour Physio & Wellness: the deposit for Maya's Physiotherapy follow-up on Tue 3 "
        "Nov, 10:00 a.m. was not paid in time, so the time was released. You can book again "
        "from the menu.")


async def test_the_migration_goes_down_and_up_with_a_deposit_on_file(clinic, make_uow, engine):
    await _ask_deposits(make_uow)
    await _patient_books(make_uow)

    async def shape() -> tuple[set[str], set[str]]:
        async with engine.connect() as conn:
            return await conn.run_sync(lambda c: (
                {col["name"] for col in inspect(c).get_columns("clinic")},
                {ix["name"] for ix in inspect(c).get_indexes("invoice")}))

    columns, indexes = await shape()
    assert {"deposit", "deposit_hold_minutes"} <= columns
    assert "uq_invoice_deposit_appointment" in indexes
    async with engine.begin() as conn:
        def down(sync_conn: object) -> None:
            config = alembic_config()
            config.attributes["connection"] = sync_conn
            command.downgrade(config, "0023")  # the revision before 0024 (deposits)

        await conn.run_sync(down)
    columns, indexes = await shape()
    assert not {"deposit", "deposit_hold_minutes"} & columns
    assert "uq_invoice_deposit_appointment" not in indexes
    await upgrade(engine)
    columns, indexes = await shape()
    assert {"deposit", "deposit_hold_minutes"} <= columns
    [deposit] = await _deposits(make_uow)
    assert deposit.amount == Decimal("20.00")


async def test_an_appointments_deposit_is_found_by_its_index_whatever_the_plan(clinic, make_uow):
    """The deposit's kind is part of the statement's text, so even a plan made for any
    parameters (PostgreSQL keeps such plans for prepared statements) uses the partial index of
    deposits instead of reading every invoice; SQLite's planner likewise."""
    compiled = deposits._DEPOSIT.statement.compile()
    assert "'deposit'" in str(compiled)
    async with make_uow() as uow:
        connection = await uow.connection()
        sql = str(compiled).replace(":appointment", "$1" if uow.dialect == "postgresql" else "?")
        if uow.dialect == "postgresql":
            await connection.exec_driver_sql("SET LOCAL plan_cache_mode = force_generic_plan")
            await connection.exec_driver_sql(f"PREPARE deposit_of(int) AS {sql}")
            plan = (await connection.exec_driver_sql("EXPLAIN EXECUTE deposit_of(1)")).all()
            await connection.exec_driver_sql("DEALLOCATE deposit_of")
        else:
            plan = (await connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", (1,))).all()
    assert "uq_invoice_deposit_appointment" in " ".join(str(row) for row in plan)
