"""Sweeps at scale (issue 15): no query grows its parameters with the data.

PostgreSQL refuses a statement of more than 32,767 parameters, so an ``IN (...)`` of every
membership made membership invoicing fail on every pass at 32,768+ memberships. Here 40,000
memberships (built with bulk Core inserts) are swept on PostgreSQL, a smaller clinic on SQLite:
every period begun is invoiced once, every sweep of the pass succeeds, and a second pass
creates nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import FixedClock
from bot.scheduler.jobs import run_sweeps
from bot.storage.models import Invoice, Membership, MembershipPlan, OutboxMessage, Patient
from bot.storage.uow import UnitOfWork
from tests.integration.test_sweep_cursors import schedule_from_start

TODAY = date(2026, 11, 2)  # the clinic's day at the tests' clock (conftest.START)
DAYS = 28  # memberships start on each of the last 28 days: one period begun each
COUNT = {"postgresql": 40_320, "sqlite": 2_800}


async def build(engine: AsyncEngine, count: int) -> int:
    """``count`` monthly memberships of ``count // DAYS`` patients (bulk Core inserts)."""
    now = datetime(2026, 10, 1, tzinfo=UTC)
    async with engine.begin() as conn:
        plan_id = (await conn.execute(
            insert(MembershipPlan).returning(MembershipPlan.id),
            [{"key": "scale-monthly", "name": "Scale", "price": Decimal("20.00"),
              "period": "monthly", "auto_invoice": True, "remind_days_before": 3}],
        )).scalar_one()
        patients = count // DAYS
        ids = list((await conn.execute(
            insert(Patient).returning(Patient.id, sort_by_parameter_order=True),
            [{"first_name": "P", "last_name": str(n), "phone": f"+1416555{n:04d}",
              "created_at": now} for n in range(patients)],
        )).scalars())
        await conn.execute(insert(Membership), [
            {"patient_id": pid, "plan_id": plan_id, "start": TODAY - timedelta(days=day),
             "created_at": now}
            for pid in ids for day in range(DAYS)
        ])
        await schedule_from_start(conn)
    return patients * DAYS


async def test_a_pass_over_many_memberships_invoices_each_once(
    engine: AsyncEngine, clinic: None, clock: FixedClock, make_uow: Callable[..., UnitOfWork]
) -> None:
    count = await build(engine, COUNT[engine.dialect.name])
    report = await run_sweeps(engine, clock)
    assert report.ok, report.sweeps
    async with make_uow(readonly=True) as uow:
        invoiced = await uow.session.scalar(
            select(func.count(func.distinct(Invoice.membership_id)))
            .join(Membership, Membership.id == Invoice.membership_id)
            .join(MembershipPlan, MembershipPlan.id == Membership.plan_id)
            .where(MembershipPlan.key == "scale-monthly"))
        queued = await uow.session.scalar(select(func.count()).select_from(OutboxMessage))
    assert invoiced == count
    assert report.sweeps["membership invoices"] is not None
    assert report.sweeps["membership invoices"] >= count
    assert report.sweeps["unpaid reminders"]  # invoices due 3+ days ago are chased
    again = await run_sweeps(engine, clock)
    assert again.ok, again.sweeps
    assert again.sweeps["membership invoices"] == 0
    assert all(created == 0 for name, created in again.sweeps.items()
               if name != "old inbound messages forgotten"), again.sweeps
    async with make_uow(readonly=True) as uow:
        assert await uow.session.scalar(
            select(func.count()).select_from(OutboxMessage)) == queued
