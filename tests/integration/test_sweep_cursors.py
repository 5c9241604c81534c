"""The sweeps' cursors (issue 15): a pass selects only what is due, and moves the cursors on.

``membership_schedule.next_invoice_on``, ``membership_schedule.renewal_remind_on`` and
``invoice_reminder.remind_on`` (migration 0012; tables of their own since 0026 and 0027). The
example clinic's sofia is a monthly member from 2026-09-01 (renewal reminders 3 days before;
unpaid reminders 3, 10 and 24 days after the due date); the tests' clock starts on 2026-11-02.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, cast

import pytest
from sqlalchemy import Row, Table, exists, func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.clock import FixedClock
from bot.scheduler.jobs import run_sweeps
from bot.services import billing, memberships
from bot.services.due_reminders import unpaid_reminders
from bot.services.sweep_writes import move_cursors
from bot.storage.models import (
    Invoice,
    InvoiceReminder,
    Membership,
    MembershipPlan,
    MembershipSchedule,
    OutboxMessage,
    Patient,
)
from bot.storage.uow import UnitOfWork
from tests.statements import statements

pytestmark = pytest.mark.usefixtures("clinic")
WRITES = ("INSERT", "UPDATE", "DELETE")


async def _sofia(make_uow: Callable[..., UnitOfWork]) -> Row[Any]:
    """Sofia's membership: id, next_invoice_on, renewal_remind_on."""
    async with make_uow(readonly=True) as uow:
        return (await uow.session.execute(
            select(Membership.id, MembershipSchedule.next_invoice_on,
                   MembershipSchedule.renewal_remind_on)
            .join(MembershipSchedule, MembershipSchedule.membership_id == Membership.id)
            .join(Patient, Patient.id == Membership.patient_id)
            .where(Patient.key == "sofia"))).one()


async def _invoice(make_uow: Callable[..., UnitOfWork], membership_id: int,
                   period: date = date(2026, 11, 1)) -> Row[Any]:
    """A period's invoice: id, reminder_due_on (its reminder cursor, None without one)."""
    async with make_uow(readonly=True) as uow:
        return (await uow.session.execute(
            select(Invoice.id, InvoiceReminder.remind_on.label("reminder_due_on"))
            .outerjoin(InvoiceReminder, InvoiceReminder.invoice_id == Invoice.id)
            .where(Invoice.membership_id == membership_id, Invoice.period_start == period))).one()


async def _purposes(make_uow: Callable[..., UnitOfWork]) -> list[str]:
    async with make_uow(readonly=True) as uow:
        return sorted((await uow.session.scalars(select(OutboxMessage.purpose))).all())


def _on(day: date) -> FixedClock:
    return FixedClock(datetime(day.year, day.month, day.day, 15, 0, tzinfo=UTC))


async def test_a_pass_moves_the_cursors_to_what_is_due_next(
    engine: AsyncEngine, make_uow: Callable[..., UnitOfWork], clock: FixedClock
) -> None:
    sofia = await _sofia(make_uow)
    assert sofia.next_invoice_on == date(2026, 12, 1)  # the load invoiced through November
    november = await _invoice(make_uow, sofia.id)
    # Invoiced by the sweep: looked at from its first unpaid stage (3 days after it is due).
    assert november.reminder_due_on == date(2026, 11, 4)
    assert (await run_sweeps(engine, clock)).ok
    sofia = await _sofia(make_uow)
    assert sofia.next_invoice_on == date(2026, 12, 1)
    assert sofia.renewal_remind_on == date(2026, 11, 28)  # 3 days before December 1
    assert (await _invoice(make_uow, sofia.id)).reminder_due_on == date(2026, 11, 4)
    # Days later: the renewal reminder and the first unpaid stage are queued, once each.
    for day in (date(2026, 11, 28), date(2026, 11, 29)):
        assert (await run_sweeps(engine, _on(day))).ok
    sofia = await _sofia(make_uow)
    assert sofia.renewal_remind_on == date(2026, 12, 29)  # January 1's reminder
    assert (await _invoice(make_uow, sofia.id)).reminder_due_on is None  # the last stage came
    purposes = await _purposes(make_uow)
    november = await _invoice(make_uow, sofia.id)
    assert f"membership:{sofia.id}:renewal:2026-12-01" in purposes
    assert f"invoice:{november.id}:unpaid:24d" in purposes  # the latest stage reached only
    assert not any(f"invoice:{november.id}:unpaid:{d}d" in purposes for d in (3, 10))
    # December's invoice once December has begun, and the cursor on to January.
    assert (await run_sweeps(engine, _on(date(2026, 12, 2)))).ok
    sofia = await _sofia(make_uow)
    assert sofia.next_invoice_on == date(2027, 1, 1)
    december = await _invoice(make_uow, sofia.id, date(2026, 12, 1))
    assert december.reminder_due_on == date(2026, 12, 4)


async def test_an_invoice_is_chased_while_open_and_of_a_chased_kind(
    engine: AsyncEngine, make_uow: Callable[..., UnitOfWork]
) -> None:
    sofia = await _sofia(make_uow)
    november = await _invoice(make_uow, sofia.id)
    async with make_uow() as uow:
        patient_id = await uow.session.scalar(
            select(Membership.patient_id).where(Membership.id == sofia.id))
        made = {kind: (await billing.create_invoice(
            uow, patient_id=patient_id, kind=kind, description=kind, amount=Decimal("10"),
            issued_on=date(2026, 11, 2), due_on=date(2026, 11, 9))).id
            for kind in ("installment", "package", "session", "no_show")}
        await uow.commit()
    async with make_uow(readonly=True) as uow:
        chased = dict((await uow.session.execute(select(
            InvoiceReminder.invoice_id, InvoiceReminder.remind_on))).tuples().all())
    # The unpaid reminders chase membership and installment invoices, from their due date.
    assert chased.get(made["installment"]) == date(2026, 11, 9)
    assert not {made["package"], made["session"], made["no_show"]} & set(chased)
    assert chased.get(november.id) == date(2026, 11, 4)  # the sweep's: from the first stage
    # Paid, or void: the cursor goes with the change, before any sweep looks again.
    async with make_uow() as uow:
        await billing.record_payment(uow, november.id, Decimal("10"))  # part of it: still open
        await uow.commit()
    assert (await _invoice(make_uow, sofia.id)).reminder_due_on == date(2026, 11, 4)
    async with make_uow() as uow:
        owed = (await uow.session.get_one(Invoice, november.id)).outstanding
        await billing.record_payment(uow, november.id, owed)
        await billing.void_invoice(uow, await billing.lock_invoice(uow, made["installment"]))
        await uow.commit()
    async with make_uow(readonly=True) as uow:
        left = set((await uow.session.scalars(select(InvoiceReminder.invoice_id))).all())
    assert november.id not in left and made["installment"] not in left
    assert left, "the other open membership invoices are still chased"


async def _bulk_members(engine: AsyncEngine, count: int) -> None:
    """``count`` more monthly members (bulk Core inserts, as many rows as a clinic has)."""
    now = datetime(2026, 10, 1, tzinfo=UTC)
    async with engine.begin() as conn:
        plan_id = await conn.scalar(
            select(MembershipPlan.id).where(MembershipPlan.key == "wellness-monthly"))
        ids = list((await conn.execute(
            insert(Patient).returning(Patient.id, sort_by_parameter_order=True),
            [{"first_name": "M", "last_name": str(n), "phone": f"+1416555{n:04d}",
              "created_at": now} for n in range(count)])).scalars())
        await conn.execute(insert(Membership), [
            {"patient_id": pid, "plan_id": plan_id, "start": date(2026, 10, 3) +
             timedelta(days=n % 28), "created_at": now} for n, pid in enumerate(ids)])
        await schedule_from_start(conn)


async def schedule_from_start(conn: AsyncConnection) -> None:
    """The schedule rows of memberships inserted in bulk (Core inserts skip the ORM's, see
    ``models.billing``): both cursors at the start."""
    await conn.execute(insert(MembershipSchedule).from_select(
        ["membership_id", "next_invoice_on", "renewal_remind_on"],
        select(Membership.id, Membership.start, Membership.start).where(~exists().where(
            MembershipSchedule.membership_id == Membership.id))))


async def test_a_quiet_pass_reads_nothing_due_and_writes_nothing(
    engine: AsyncEngine, clock: FixedClock, make_uow: Callable[..., UnitOfWork]
) -> None:
    assert (await run_sweeps(engine, clock)).ok
    with statements(engine) as small:
        assert (await run_sweeps(engine, clock)).ok
    await _bulk_members(engine, 600)
    first = await run_sweeps(engine, clock)
    assert first.ok and first.sweeps["membership invoices"] == 600
    with statements(engine) as large:
        quiet = await run_sweeps(engine, clock)
    assert quiet.ok
    assert all(count == 0 for name, count in quiet.sweeps.items()), quiet.sweeps
    # The same statements whether 1 or 601 members: nothing due is selected, nothing written.
    assert len(large) == len(small)
    written = [s for s in large if s.lstrip().upper().startswith(WRITES)]
    # Housekeeping only: expired message ids are pruned in chunks (select, then delete what was
    # found), so a pass with nothing expired writes nothing at all.
    assert all("inbound_message" in s for s in written), written
    today = date(2026, 11, 2)
    async with make_uow(readonly=True) as uow:
        due = await uow.session.scalar(select(func.count()).select_from(MembershipSchedule).where(
            (MembershipSchedule.next_invoice_on <= today)
            | (MembershipSchedule.renewal_remind_on <= today)))
        chased = await uow.session.scalar(select(func.count()).select_from(InvoiceReminder)
                                          .where(InvoiceReminder.remind_on <= today))
    assert due == 0 and chased == 0


async def test_two_passes_at_once_create_each_invoice_and_reminder_once(
    engine: AsyncEngine, make_uow: Callable[..., UnitOfWork]
) -> None:
    await _bulk_members(engine, 300)
    async with make_uow(readonly=True) as uow:
        before = await uow.session.scalar(select(func.count()).select_from(Invoice).where(
            Invoice.membership_id.is_not(None)))
    day = _on(date(2026, 11, 29))  # invoices, renewal and unpaid reminders all due
    reports = await asyncio.gather(run_sweeps(engine, day), run_sweeps(engine, day))
    assert all(report.ok for report in reports), [r.sweeps for r in reports]
    async with make_uow(readonly=True) as uow:
        invoices = (await uow.session.execute(
            select(Invoice.membership_id, Invoice.period_start)
            .where(Invoice.membership_id.is_not(None)))).all()
    assert len(invoices) == len(set(invoices))
    assert len(invoices) - before >= 300 * 2 - 300 // 28  # October's, and most Novembers
    assert sum(r.sweeps["membership invoices"] or 0 for r in reports) == len(invoices) - before
    purposes = await _purposes(make_uow)
    assert len(purposes) == len(set(purposes))
    assert sum(p.endswith(":renewal:2026-12-01") for p in purposes) > 0
    again = await run_sweeps(engine, day)
    assert all(count == 0 for name, count in again.sweeps.items()), again.sweeps


async def test_cancelling_clears_the_cursors_past_it(
    engine: AsyncEngine, clock: FixedClock, make_uow: Callable[..., UnitOfWork]
) -> None:
    assert (await run_sweeps(engine, clock)).ok
    sofia = await _sofia(make_uow)
    async with make_uow() as uow:
        await memberships.cancel(uow, sofia.id, date(2026, 12, 1))
        await uow.commit()
    sofia = await _sofia(make_uow)
    assert sofia.next_invoice_on is None and sofia.renewal_remind_on is None
    for day in (date(2026, 11, 29), date(2026, 12, 2)):
        assert (await run_sweeps(engine, _on(day))).ok
    purposes = await _purposes(make_uow)
    assert not any(":renewal:" in p for p in purposes)
    async with make_uow(readonly=True) as uow:
        starts = (await uow.session.scalars(select(Invoice.period_start).where(
            Invoice.membership_id == sofia.id))).all()
    assert max(s for s in starts if s is not None) == date(2026, 11, 1)


async def test_a_cancellation_later_on_keeps_the_reminders_before_it(
    engine: AsyncEngine, clock: FixedClock, make_uow: Callable[..., UnitOfWork]
) -> None:
    assert (await run_sweeps(engine, clock)).ok
    sofia = await _sofia(make_uow)
    async with make_uow() as uow:
        await memberships.cancel(uow, sofia.id, date(2027, 1, 1))
        await uow.commit()
    sofia = await _sofia(make_uow)
    assert sofia.next_invoice_on == date(2026, 12, 1)
    assert sofia.renewal_remind_on == date(2026, 11, 28)
    assert (await run_sweeps(engine, _on(date(2026, 12, 30)))).ok
    sofia = await _sofia(make_uow)
    assert sofia.next_invoice_on is None and sofia.renewal_remind_on is None
    purposes = await _purposes(make_uow)
    assert not any(p.endswith(":renewal:2027-01-01") for p in purposes)


async def _reload(make_uow: Callable[..., UnitOfWork], *, stages: list[int] | None = None,
                  remind_days: int | None = None) -> None:
    """Load the example clinic again with other unpaid stages or monthly reminder days."""
    from bot.clinicfile import read_clinic_file
    from bot.services.setup import load_clinic
    from tests.conftest import EXAMPLE_FILE

    spec = read_clinic_file(EXAMPLE_FILE)
    if stages is not None:
        spec = spec.model_copy(update={"reminders": spec.reminders.model_copy(
            update={"unpaid_invoice_days": stages})})
    if remind_days is not None:
        spec = spec.model_copy(update={"membership_plans": [
            plan.model_copy(update={"remind_days_before": remind_days})
            if plan.key == "wellness-monthly" else plan for plan in spec.membership_plans]})
    async with make_uow() as uow:
        await load_clinic(uow, spec)
        await uow.commit()


async def test_a_reload_with_other_unpaid_stages_looks_at_open_invoices_again(
    engine: AsyncEngine, clock: FixedClock, make_uow: Callable[..., UnitOfWork]
) -> None:
    assert (await run_sweeps(engine, clock)).ok
    sofia = await _sofia(make_uow)
    november = await _invoice(make_uow, sofia.id)
    assert november.reminder_due_on == date(2026, 11, 4)
    await _reload(make_uow, stages=[1, 3, 10, 24])
    assert (await _invoice(make_uow, sofia.id)).reminder_due_on == date(2026, 11, 1)
    assert (await run_sweeps(engine, clock)).ok
    assert f"invoice:{november.id}:unpaid:1d" in await _purposes(make_uow)
    assert (await _invoice(make_uow, sofia.id)).reminder_due_on == date(2026, 11, 4)
    # A period invoiced after the reload is looked at from the new first stage.
    assert (await run_sweeps(engine, _on(date(2026, 12, 1)))).ok
    assert (await _invoice(make_uow, sofia.id, date(2026, 12, 1))).reminder_due_on == date(
        2026, 12, 2)


async def test_a_reload_with_more_reminder_days_reminds_earlier(
    engine: AsyncEngine, clock: FixedClock, make_uow: Callable[..., UnitOfWork]
) -> None:
    assert (await run_sweeps(engine, clock)).ok
    assert (await _sofia(make_uow)).renewal_remind_on == date(2026, 11, 28)
    await _reload(make_uow, remind_days=10)
    assert (await run_sweeps(engine, _on(date(2026, 11, 22)))).ok
    sofia = await _sofia(make_uow)
    assert f"membership:{sofia.id}:renewal:2026-12-01" in await _purposes(make_uow)
    assert sofia.renewal_remind_on == date(2026, 12, 22)


async def test_a_chunk_of_unpaid_reminders_queues_patients_and_staff_in_one_insert(
    engine: AsyncEngine, clock: FixedClock
) -> None:
    await _bulk_members(engine, 600)
    assert (await run_sweeps(engine, clock)).ok  # November's invoices, open
    later = UnitOfWork(engine, _on(date(2026, 12, 30)))
    async with later as uow:
        with statements(engine) as seen:
            created = await unpaid_reminders(uow)
        await uow.commit()
    assert created > 0  # reminders and their staff alerts
    chunks = [s for s in seen if "remind_on <=" in s and s.lstrip().startswith("SELECT")]
    inserts = [s for s in seen if "INSERT INTO outbox " in s]
    inbox = [s for s in seen if "INSERT INTO inbox_item " in s]
    # Every stage of November's invoices came by December 30: their cursors go.
    moves = [s for s in seen if s.lstrip().startswith(("UPDATE invoice_reminder ",
                                                       "DELETE FROM invoice_reminder "))]
    staff = [s for s in seen if "FROM staff" in s]
    # Per chunk: its rows, its patients (Core), one outbox insert, one inbox insert and its
    # cursor update: all in the outbox insert's own statement on PostgreSQL, each on its own
    # on SQLite.
    assert len(chunks) >= 2 and len(inserts) == len(chunks), (len(chunks), len(inserts))
    if engine.dialect.name == "postgresql":
        assert not moves and not set(inbox) - set(inserts)
        assert all("DELETE FROM invoice_reminder" in s and "INSERT INTO inbox_item" in s
                   for s in inserts)
        assert len(set(inserts)) == 1  # the same statement whatever the chunk: prepared once
    else:
        assert len(moves) == len(chunks) and len(inbox) == len(chunks)
    assert len(staff) == 1  # the staff read once per pass, not per chunk


async def test_moving_cursors_runs_the_same_statement_whatever_the_chunk(
    engine: AsyncEngine, make_uow: Callable[..., UnitOfWork]
) -> None:
    sofia = await _sofia(make_uow)
    members = cast(Table, MembershipSchedule.__table__)
    async with make_uow() as uow:
        with statements(engine) as seen:
            await move_cursors(uow, members, "renewal_remind_on", [(sofia.id, None)])
            await move_cursors(uow, members, "renewal_remind_on",
                               [(sofia.id, date(2026, 12, 1)), (sofia.id + 10_000, None)])
        await uow.commit()
    updates = [s for s in seen if s.lstrip().upper().startswith("UPDATE")]
    # Compiled (and on PostgreSQL prepared) once, not once per chunk size.
    assert len(updates) == 2 and updates[0] == updates[1]
    assert (await _sofia(make_uow)).renewal_remind_on == date(2026, 12, 1)


async def test_without_unpaid_stages_new_invoices_are_not_chased(
    engine: AsyncEngine, make_uow: Callable[..., UnitOfWork]
) -> None:
    await _reload(make_uow, stages=[])
    assert (await run_sweeps(engine, _on(date(2026, 12, 1)))).ok
    sofia = await _sofia(make_uow)
    assert (await _invoice(make_uow, sofia.id, date(2026, 12, 1))).reminder_due_on is None
    await _reload(make_uow, stages=[5])  # reminders again: every open invoice looked at anew
    assert (await _invoice(make_uow, sofia.id, date(2026, 12, 1))).reminder_due_on == date(
        2026, 12, 1)
