"""Memberships (RULES.md 13, 16) on both databases: one invoice per period, never twice.

Most tests use their own patient and plans (no clinic file) so every invoice counted is theirs;
the last ones use the example clinic's sofia (monthly from 2026-09-01, paid through October).
"""

from __future__ import annotations

import asyncio
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from bot.services import billing, memberships
from bot.services.errors import InvalidInput, NotFound, WrongState
from bot.services.invoices import memberships_for
from bot.storage.models import Invoice, Membership, MembershipPlan, Patient
from bot.storage.uow import UnitOfWork


async def _setup(uow: UnitOfWork) -> int:
    """A patient and three plans (monthly, annual, monthly without auto-invoice)."""
    uow.session.add_all(
        [
            MembershipPlan(key="monthly", name="Monthly", price=Decimal("49.00"),
                           period="monthly", auto_invoice=True, remind_days_before=3),
            MembershipPlan(key="annual", name="Annual", price=Decimal("499.00"),
                           period="annual", auto_invoice=True, remind_days_before=14),
            MembershipPlan(key="manual", name="Manual", price=Decimal("30.00"),
                           period="monthly", auto_invoice=False),
        ]
    )
    member = Patient(first_name="Ada", last_name="Lee", created_at=uow.clock.now())
    uow.session.add(member)
    await uow.session.flush()
    return member.id


async def _enrolled(make_uow, plan: str, start: date) -> int:
    async with make_uow() as uow:
        patient_id = await _setup(uow)
        membership = await memberships.enrol(uow, patient_id, plan, start)
        await uow.commit()
        return membership.id


async def _invoices(make_uow, membership_id: int) -> list[tuple[date, date, Decimal, str]]:
    """(period start, period end, amount, status) of the membership's invoices, in order."""
    async with make_uow() as uow:
        rows = await uow.session.scalars(
            select(Invoice)
            .where(Invoice.membership_id == membership_id)
            .order_by(Invoice.period_start)
        )
        return [(i.period_start, i.period_end, i.amount, i.status) for i in rows.all()]


async def _sweep(make_uow, as_of: date) -> int:
    async with make_uow() as uow:
        created = await memberships.invoice_due_periods(uow, as_of)
        await uow.commit()
        return created


async def test_catch_up_creates_one_invoice_per_missed_month_from_a_month_end(make_uow):
    membership_id = await _enrolled(make_uow, "monthly", date(2026, 1, 31))
    assert await _sweep(make_uow, date(2026, 5, 29)) == 4
    assert await _invoices(make_uow, membership_id) == [
        (date(2026, 1, 31), date(2026, 2, 28), Decimal("49.00"), "open"),
        (date(2026, 2, 28), date(2026, 3, 31), Decimal("49.00"), "open"),
        (date(2026, 3, 31), date(2026, 4, 30), Decimal("49.00"), "open"),
        (date(2026, 4, 30), date(2026, 5, 31), Decimal("49.00"), "open"),
    ]
    async with make_uow() as uow:
        invoice = await uow.session.scalar(
            select(Invoice).where(Invoice.period_start == date(2026, 3, 31))
        )
        assert (invoice.kind, invoice.issued_on, invoice.due_on) == (
            "membership", date(2026, 3, 31), date(2026, 3, 31)
        )


async def test_running_the_sweep_again_creates_nothing(make_uow):
    membership_id = await _enrolled(make_uow, "monthly", date(2026, 1, 31))
    assert await _sweep(make_uow, date(2026, 3, 1)) == 2
    assert await _sweep(make_uow, date(2026, 3, 1)) == 0
    assert await _sweep(make_uow, date(2026, 3, 31)) == 1  # only the new period
    assert [row[0] for row in await _invoices(make_uow, membership_id)] == [
        date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31)
    ]


async def test_a_paid_or_void_period_is_not_invoiced_again(make_uow):
    membership_id = await _enrolled(make_uow, "monthly", date(2026, 1, 15))
    await _sweep(make_uow, date(2026, 2, 20))
    async with make_uow() as uow:
        first, second = (
            await uow.session.scalars(select(Invoice).order_by(Invoice.period_start))
        ).all()
        await billing.record_payment(uow, first.id, Decimal("49.00"))
        await billing.void_invoice(uow, second)
        await uow.commit()
    assert await _sweep(make_uow, date(2026, 2, 20)) == 0
    assert [row[3] for row in await _invoices(make_uow, membership_id)] == ["paid", "void"]


async def test_annual_plans_invoice_once_a_year(make_uow):
    membership_id = await _enrolled(make_uow, "annual", date(2026, 3, 15))
    assert await _sweep(make_uow, date(2027, 3, 14)) == 1
    assert await _sweep(make_uow, date(2028, 3, 15)) == 2
    assert await _invoices(make_uow, membership_id) == [
        (date(2026, 3, 15), date(2027, 3, 15), Decimal("499.00"), "open"),
        (date(2027, 3, 15), date(2028, 3, 15), Decimal("499.00"), "open"),
        (date(2028, 3, 15), date(2029, 3, 15), Decimal("499.00"), "open"),
    ]


async def test_a_period_is_invoiced_on_the_day_it_starts_not_before(make_uow):
    membership_id = await _enrolled(make_uow, "monthly", date(2026, 12, 1))
    assert await _sweep(make_uow, date(2026, 11, 30)) == 0
    assert await _sweep(make_uow, date(2026, 12, 1)) == 1
    assert await _sweep(make_uow, date(2026, 12, 31)) == 0
    assert len(await _invoices(make_uow, membership_id)) == 1


async def test_without_auto_invoice_no_invoice_is_generated(make_uow):
    membership_id = await _enrolled(make_uow, "manual", date(2026, 1, 1))
    assert await _sweep(make_uow, date(2026, 12, 31)) == 0
    assert await _invoices(make_uow, membership_id) == []


@pytest.mark.parametrize(
    ("cancel_from", "invoiced"),
    [
        (date(2026, 3, 31), [date(2026, 1, 31), date(2026, 2, 28)]),  # on a period start
        (date(2026, 3, 15), [date(2026, 1, 31), date(2026, 2, 28)]),  # mid-period
        (date(2026, 1, 31), []),  # from the very start
        (date(2026, 4, 1), [date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31)]),
    ],
)
async def test_no_period_starting_on_or_after_the_cancellation_is_invoiced(
    make_uow, cancel_from, invoiced
):
    membership_id = await _enrolled(make_uow, "monthly", date(2026, 1, 31))
    async with make_uow() as uow:
        await memberships.cancel(uow, membership_id, cancel_from)
        await uow.commit()
    await _sweep(make_uow, date(2026, 12, 31))
    assert [row[0] for row in await _invoices(make_uow, membership_id)] == invoiced


async def test_a_backdated_cancellation_voids_unpaid_invoices_after_it_only(make_uow):
    membership_id = await _enrolled(make_uow, "monthly", date(2026, 1, 10))
    await _sweep(make_uow, date(2026, 5, 10))  # Jan, Feb, Mar, Apr, May
    async with make_uow() as uow:
        invoices = {
            i.period_start.month: i
            for i in (await uow.session.scalars(select(Invoice))).all()
        }
        await billing.record_payment(uow, invoices[3].id, Decimal("49.00"))  # paid
        await billing.record_payment(uow, invoices[4].id, Decimal("10.00"))  # part paid
        await uow.commit()
    async with make_uow() as uow:
        await memberships.cancel(uow, membership_id, date(2026, 3, 1))
        await uow.commit()
    assert [row[3] for row in await _invoices(make_uow, membership_id)] == [
        "open", "open",  # Jan, Feb: before the cancellation, still owed
        "paid", "open",  # Mar paid, Apr part paid: left for the desk to refund
        "void",  # May: unpaid, after the cancellation
    ]


async def test_cancellation_rules(make_uow):
    membership_id = await _enrolled(make_uow, "monthly", date(2026, 2, 1))
    async with make_uow() as uow:
        with pytest.raises(InvalidInput, match="before it starts"):
            await memberships.cancel(uow, membership_id, date(2026, 1, 31))
        with pytest.raises(NotFound):
            await memberships.cancel(uow, 999_999, date(2026, 3, 1))
        await memberships.cancel(uow, membership_id, date(2026, 6, 1))
        await uow.commit()
    async with make_uow() as uow:
        for later_or_same in (date(2026, 6, 1), date(2026, 7, 1)):
            with pytest.raises(WrongState, match="already cancelled from 2026-06-01"):
                await memberships.cancel(uow, membership_id, later_or_same)
        # bringing the cancellation forward is allowed
        assert (await memberships.cancel(uow, membership_id, date(2026, 4, 1))).cancelled_from \
            == date(2026, 4, 1)
        await uow.commit()


async def test_next_renewal(make_uow):
    async with make_uow() as uow:
        await _setup(uow)
        monthly = await memberships.get_plan(uow, "monthly")
        annual = await memberships.get_plan(uow, "annual")
        member = Membership(start=date(2026, 1, 31), cancelled_from=None)
        assert memberships.next_renewal(member, monthly, date(2026, 1, 30)) == date(2026, 1, 31)
        assert memberships.next_renewal(member, monthly, date(2026, 1, 31)) == date(2026, 2, 28)
        assert memberships.next_renewal(member, monthly, date(2026, 2, 28)) == date(2026, 3, 31)
        assert memberships.next_renewal(member, annual, date(2026, 6, 1)) == date(2027, 1, 31)
        member.cancelled_from = date(2026, 3, 31)
        assert memberships.next_renewal(member, monthly, date(2026, 2, 1)) == date(2026, 2, 28)
        assert memberships.next_renewal(member, monthly, date(2026, 3, 1)) is None


async def test_unknown_plan_or_merged_patient_cannot_enrol(make_uow):
    async with make_uow() as uow:
        patient_id = await _setup(uow)
        with pytest.raises(NotFound, match="no membership plan 'gold'"):
            await memberships.enrol(uow, patient_id, "gold", date(2026, 1, 1))
        (await uow.session.get(Patient, patient_id)).merged_into_id = patient_id
        with pytest.raises(NotFound):
            await memberships.enrol(uow, patient_id, "monthly", date(2026, 1, 1))


# --- two sweeps at once (two processes, two servers) -------------------------------------


async def test_a_sweep_racing_an_uncommitted_sweep_creates_nothing_twice(make_uow):
    membership_id = await _enrolled(make_uow, "monthly", date(2026, 1, 31))
    first, second = make_uow(), make_uow()
    async with first:
        assert await memberships.invoice_due_periods(first, date(2026, 4, 30)) == 4

        async def other() -> int:
            async with second:
                created = await memberships.invoice_due_periods(second, date(2026, 4, 30))
                await second.commit()
                return created

        racing = asyncio.create_task(other())
        await asyncio.sleep(0.3)
        # SQLite: the second sweep waits for its write turn. PostgreSQL: it skips the
        # membership the first holds (FOR NO KEY UPDATE SKIP LOCKED: two instances share a
        # pass's work) and creates nothing.
        assert racing.done() == (first.dialect == "postgresql")
        await first.commit()
    assert await racing == 0
    assert len(await _invoices(make_uow, membership_id)) == 4


async def test_a_sweep_racing_an_uncommitted_cancellation_invoices_nothing_after_it(make_uow):
    membership_id = await _enrolled(make_uow, "monthly", date(2026, 1, 31))
    assert await _sweep(make_uow, date(2026, 2, 27)) == 1  # January's period
    cancelling = make_uow()
    async with cancelling:
        # From mid-April: the cursor (February 28) stays, the cancellation only holds it.
        await memberships.cancel(cancelling, membership_id, date(2026, 4, 15))
        racing = asyncio.create_task(_sweep(make_uow, date(2026, 4, 30)))
        await asyncio.sleep(0.3)
        # SQLite: the sweep waits for its write turn. PostgreSQL: it skips the membership
        # whose cursors the cancellation holds, rather than invoicing April's period for a
        # membership it read just before the cancellation.
        assert racing.done() == (cancelling.dialect == "postgresql")
        await cancelling.commit()
    await racing
    await _sweep(make_uow, date(2026, 4, 30))
    assert [start for start, *_ in await _invoices(make_uow, membership_id)] == [
        date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31)]


async def test_concurrent_sweeps_create_each_invoice_once(make_uow):
    membership_id = await _enrolled(make_uow, "monthly", date(2025, 11, 30))

    async def sweep() -> int:
        async with make_uow() as uow:
            created = await memberships.invoice_due_periods(uow, date(2026, 11, 2))
            await uow.commit()
            return created

    results = await asyncio.gather(*(sweep() for _ in range(4)))
    assert sum(results) == 12
    starts = [row[0] for row in await _invoices(make_uow, membership_id)]
    assert len(starts) == len(set(starts)) == 12


# --- the example clinic's member, and how a patient sees memberships ---------------------


@pytest.mark.usefixtures("clinic")
async def test_after_downtime_the_missed_months_are_caught_up_once(make_uow):
    async with make_uow() as uow:
        sofia = await uow.session.scalar(select(Patient).where(Patient.key == "sofia"))
        membership_id = await uow.session.scalar(
            select(Membership.id).where(Membership.patient_id == sofia.id)
        )
    before = await _invoices(make_uow, membership_id)
    assert [(row[0], row[3]) for row in before] == [
        (date(2026, 9, 1), "paid"), (date(2026, 10, 1), "paid"), (date(2026, 11, 1), "open")
    ]
    assert await _sweep(make_uow, date(2027, 1, 15)) == 2
    assert await _sweep(make_uow, date(2027, 1, 15)) == 0
    assert [row[0] for row in await _invoices(make_uow, membership_id)][3:] == [
        date(2026, 12, 1), date(2027, 1, 1)
    ]


async def test_memberships_for_shows_state_and_next_renewal(make_uow):
    async with make_uow() as uow:
        patient_id = await _setup(uow)
        ended = await memberships.enrol(uow, patient_id, "monthly", date(2025, 1, 31))
        await memberships.cancel(uow, ended.id, date(2025, 6, 1))
        active = await memberships.enrol(uow, patient_id, "annual", date(2026, 3, 15))
        ending = await memberships.enrol(uow, patient_id, "monthly", date(2026, 1, 31))
        await memberships.cancel(uow, ending.id, date(2026, 12, 15))
        upcoming = await memberships.enrol(uow, patient_id, "manual", date(2026, 12, 1))
        other = Patient(first_name="Bo", last_name="Ng", created_at=uow.clock.now())
        uow.session.add(other)
        await uow.session.flush()
        await memberships.enrol(uow, other.id, "monthly", date(2026, 1, 1))
        await uow.commit()
    async with make_uow() as uow:
        states = await memberships_for(uow, patient_id, date(2026, 11, 2))
    assert [(s.membership_id, s.status, s.next_renewal, s.ends_on) for s in states] == [
        (ending.id, "active", date(2026, 11, 30), date(2026, 12, 15)),
        (active.id, "active", date(2027, 3, 15), None),
        (upcoming.id, "upcoming", date(2026, 12, 1), None),
        (ended.id, "cancelled", None, date(2025, 6, 1)),
    ]
    assert (states[1].plan_key, states[1].price, states[1].period) == (
        "annual", Decimal("499.00"), "annual"
    )
