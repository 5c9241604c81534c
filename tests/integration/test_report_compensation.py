"""Staff compensation both ways (RULES.md 12) and the package reports month by month, on the
example clinic's known sessions (tests/integration/test_reports.py's ``_sessions``), with
hand-counted figures on both databases.

November: the desk sold sofia a Physio 5-pack (400.00, paid at sale); Ana redeemed maya's
unassigned Physio uses on Nov 3 and at the Nov 4 no-show; Ben redeemed leo's unassigned Massage
uses on Nov 9 and Nov 30 (late evening: still November in Toronto); sofia's desk-sold use on
Nov 5 with Ana is not credited at redemption. Ana is staff and practitioner: one row.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import event, select

from bot.services import packages, report_months, reports
from bot.services.compensation import compensation
from bot.services.errors import InvalidInput
from bot.storage.models import Practitioner, Staff
from tests.integration._builders import patient
from tests.integration.test_reports import _sessions

pytestmark = pytest.mark.usefixtures("clinic")
D = Decimal


async def test_compensation_at_sale_and_at_redemption(make_uow, clock):
    await _sessions(make_uow, clock)
    async with make_uow(readonly=True) as uow:
        november = await compensation(uow, date(2026, 11, 1), date(2026, 11, 30))
        autumn = await compensation(uow, date(2026, 9, 1), date(2026, 12, 31))
        staff = dict((await uow.session.execute(select(Staff.key, Staff.id))).tuples().all())
        people = dict((await uow.session.execute(
            select(Practitioner.key, Practitioner.id))).tuples().all())
    assert [(r.name, r.staff_id, r.practitioner_id, r.sales, r.sales_amount, r.credited_uses,
             r.credited_no_shows) for r in november.rows] == [
        ("Ana Silva", staff["ana"], people["ana"], 0, D("0.00"), 2, 1),
        ("Ben Okafor", None, people["ben"], 0, D("0.00"), 2, 0),
        ("Front desk", staff["desk"], None, 1, D("400.00"), 0, 0),
    ]
    assert (november.unassigned_sales, november.unassigned_amount) == (0, D("0.00"))
    assert (november.total_sales, november.total_sales_amount,
            november.total_credited_uses) == (1, D("400.00"), 4)
    # September to December: the imported Massage (990.00) and Physio (400.00) were unassigned.
    assert [(r.name, r.sales, r.credited_uses) for r in autumn.rows] == [
        ("Ana Silva", 0, 3), ("Ben Okafor", 0, 3), ("Front desk", 1, 0)]
    assert (autumn.unassigned_sales, autumn.unassigned_amount) == (2, D("1390.00"))
    async with make_uow(readonly=True) as uow:
        with pytest.raises(InvalidInput, match="swap --from and --to"):
            await compensation(uow, date(2026, 11, 30), date(2026, 11, 1))


async def test_sales_uses_and_no_shows_month_by_month_across_the_range(make_uow, clock):
    await _sessions(make_uow, clock)
    async with make_uow(readonly=True) as uow:
        sales = await reports.package_sales(uow, date(2026, 8, 20), date(2026, 12, 31))
        usage = await reports.package_usage(uow, date(2026, 8, 20), date(2026, 12, 31))
    assert [(m.period, m.sold, m.price, m.collected)
            for m in report_months.sales_by_month(sales)] == [
        ("2026-08", 0, D("0"), D("0")),
        ("2026-09", 1, D("990.00"), D("330.00")),
        ("2026-10", 1, D("400.00"), D("400.00")),
        ("2026-11", 1, D("400.00"), D("400.00")),
        ("2026-12", 0, D("0"), D("0")),
    ]
    assert [(m.period, m.at_sessions, m.at_no_shows, m.uses)
            for m in report_months.uses_by_month(usage)] == [
        ("2026-08", 0, 0, 0), ("2026-09", 0, 0, 0), ("2026-10", 1, 0, 1),
        ("2026-11", 4, 1, 5), ("2026-12", 1, 0, 1),
    ]
    assert [(n.period, n.redeemed, n.charged, n.charged_amount)
            for n in report_months.no_shows_by_month(usage)] == [
        ("2026-08", 0, 0, D("0")), ("2026-09", 0, 0, D("0")), ("2026-10", 0, 0, D("0")),
        ("2026-11", 1, 1, D("45.00")), ("2026-12", 0, 0, D("0")),
    ]


def test_months_cover_the_range_across_a_year_end():
    assert report_months.months(date(2025, 11, 30), date(2026, 2, 1)) == [
        "2025-11", "2025-12", "2026-01", "2026-02"]
    assert report_months.months(date(2026, 5, 5), date(2026, 5, 6)) == ["2026-05"]


async def _compensation_statements(engine, make_uow) -> int:
    seen: list[str] = []

    def count(conn, cursor, statement, *args) -> None:
        seen.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        async with make_uow(readonly=True) as uow:
            await reports.get_clinic(uow)  # the clinic row is read once per unit of work
            before = len(seen)
            report = await compensation(uow, date(2026, 9, 1), date(2026, 12, 31))
            assert report.rows, "the range must have rows for this test to mean anything"
            return len(seen) - before
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)


async def test_compensation_runs_the_same_queries_for_few_or_many_sales(engine, make_uow, clock):
    await _sessions(make_uow, clock)
    few = await _compensation_statements(engine, make_uow)
    async with make_uow() as uow:
        desk = await uow.session.scalar(select(Staff).where(Staff.key == "desk"))
        ana = await uow.session.scalar(select(Staff).where(Staff.key == "ana"))
        sofia = await patient(uow, "sofia")
        for day in range(1, 21):  # twenty more sales, assigned to either
            await packages.sell_package(
                uow, sofia.id, "physio-5", purchased_on=date(2026, 9, 1) + timedelta(days=day),
                sold_by_staff_id=(desk if day % 2 else ana).id,
            )
        await uow.commit()
    assert await _compensation_statements(engine, make_uow) == few == 4
    async with make_uow(readonly=True) as uow:
        report = await compensation(uow, date(2026, 9, 1), date(2026, 12, 31))
    assert [(r.name, r.sales, r.sales_amount) for r in report.rows] == [
        ("Ana Silva", 10, D("4000.00")), ("Ben Okafor", 0, D("0.00")),
        ("Front desk", 11, D("4400.00"))]
