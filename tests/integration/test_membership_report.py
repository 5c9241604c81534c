"""The membership report (RULES.md 13, 16) with hand-counted figures, on both databases: members
per plan on the last day, joins, ends and churn per month, renewals due after the range
(month ends clamp), and a fixed number of queries whatever the number of members.

Own plans and patients (no clinic file), so every membership counted is the test's.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import event

from bot.services.errors import InvalidInput
from bot.services.membership_report import membership_report
from bot.storage.models import Membership, MembershipPlan, Patient

MARCH, MAY_END = date(2026, 3, 1), date(2026, 5, 31)


async def _members(make_uow) -> None:
    """Two plans and six memberships (one cancelled from its start: never a member)."""
    async with make_uow() as uow:
        monthly = MembershipPlan(key="monthly", name="Monthly", price=Decimal("49.00"),
                                 period="monthly", auto_invoice=False)
        annual = MembershipPlan(key="annual", name="Annual", price=Decimal("499.00"),
                                period="annual", auto_invoice=False)
        uow.session.add_all([monthly, annual])
        await uow.session.flush()
        plans = {"monthly": monthly.id, "annual": annual.id}
        cases = [
            ("monthly", date(2026, 1, 31), None),               # renews 2026-06-30 (clamped)
            ("monthly", date(2026, 3, 15), date(2026, 5, 15)),  # joins and ends in the range
            ("monthly", date(2026, 4, 10), date(2026, 4, 10)),  # cancelled from its start
            ("annual", date(2025, 6, 1), None),                 # renews 2026-06-01
            ("annual", date(2026, 4, 20), date(2026, 6, 1)),    # next renewal 2027
            ("monthly", date(2026, 5, 31), None),               # renews 2026-06-30
        ]
        for n, (plan, start, cancelled) in enumerate(cases):
            member = Patient(first_name="Member", last_name=str(n), created_at=uow.clock.now())
            uow.session.add(member)
            await uow.session.flush()
            uow.session.add(Membership(patient_id=member.id, plan_id=plans[plan], start=start,
                                       cancelled_from=cancelled, created_at=uow.clock.now()))
        await uow.commit()


async def test_members_per_plan_and_month_with_churn_and_renewals(make_uow):
    await _members(make_uow)
    async with make_uow(readonly=True) as uow:
        report = await membership_report(uow, MARCH, MAY_END)
    assert [(p.plan_key, p.plan_name, p.period, p.active, p.joined, p.ended, p.renewals_due)
            for p in report.plans] == [
        ("annual", "Annual", "annual", 2, 1, 0, 1),
        ("monthly", "Monthly", "monthly", 2, 2, 1, 2),
    ]
    assert [(m.period, m.active_at_start, m.joined, m.ended, m.active_at_end, m.churn_percent)
            for m in report.months] == [
        ("2026-03", 2, 1, 0, 3, Decimal("0.0")),
        ("2026-04", 3, 1, 0, 4, Decimal("0.0")),
        ("2026-05", 4, 1, 1, 4, Decimal("25.0")),
    ]
    assert (report.active, report.renewals_due, report.renewal_days) == (4, 3, 30)


async def test_renewals_window_and_a_partial_month(make_uow):
    await _members(make_uow)
    async with make_uow(readonly=True) as uow:
        # Up to June 1: the annual renewal of 2025-06-01 only (the monthly ones renew June 30).
        one_day = await membership_report(uow, MAY_END, MAY_END, renewal_days=1)
        # Two months ahead: monthly members renew June 30 and July 31 (two each), annual once.
        two_months = await membership_report(uow, MAY_END, MAY_END, renewal_days=61)
        empty = await membership_report(uow, date(2024, 1, 1), date(2024, 1, 31))
    assert [(p.plan_key, p.renewals_due) for p in one_day.plans] == [
        ("annual", 1), ("monthly", 0)]
    assert [(p.plan_key, p.renewals_due) for p in two_months.plans] == [
        ("annual", 1), ("monthly", 4)]
    assert [(m.period, m.active_at_start, m.joined, m.ended, m.active_at_end)
            for m in one_day.months] == [("2026-05", 3, 1, 0, 4)]
    assert [(m.period, m.active_at_end, m.churn_percent) for m in empty.months] == [
        ("2024-01", 0, None)]


async def test_a_bad_range_or_renewal_window_is_refused(make_uow):
    async with make_uow(readonly=True) as uow:
        with pytest.raises(InvalidInput, match="swap --from and --to"):
            await membership_report(uow, MAY_END, MARCH)
        with pytest.raises(InvalidInput, match="1 to 366 days"):
            await membership_report(uow, MARCH, MAY_END, renewal_days=0)


async def _statements(engine, make_uow) -> tuple[int, int]:
    """The report's statements, and the most parameters any of them had."""
    seen: list[tuple[str, object]] = []

    def count(conn, cursor, statement, parameters, *args) -> None:
        seen.append((statement, parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        async with make_uow(readonly=True) as uow:
            await membership_report(uow, MARCH, MAY_END)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)
    widest = max(len(parameters) if isinstance(parameters, (tuple, list, dict)) else 0
                 for _, parameters in seen)
    return len(seen), widest


async def test_the_report_runs_the_same_queries_for_few_or_many_members(engine, make_uow):
    await _members(make_uow)
    few = await _statements(engine, make_uow)
    await _members_again(make_uow)
    many = await _statements(engine, make_uow)
    assert few == many == (2, 3), (few, many)  # the plans, then one grouped count
    async with make_uow(readonly=True) as uow:
        report = await membership_report(uow, MARCH, MAY_END)
    assert report.active == 4 + 40 and report.months[0].active_at_start == 2 + 40


async def _members_again(make_uow) -> None:
    """Forty more monthly members (their own plan rows would clash: reuse the plan)."""
    async with make_uow() as uow:
        plan = (await uow.session.execute(
            MembershipPlan.__table__.select().where(MembershipPlan.key == "monthly"))).first()
        for n in range(40):
            member = Patient(first_name="Many", last_name=str(n), created_at=uow.clock.now())
            uow.session.add(member)
            await uow.session.flush()
            uow.session.add(Membership(patient_id=member.id, plan_id=plan.id,
                                       start=date(2026, 1, 10 + n % 5),
                                       created_at=uow.clock.now()))
        await uow.commit()
