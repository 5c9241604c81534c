"""Staff compensation both ways (RULES.md 12) and the package reports month by month, on the
example clinic's known sessions (tests/integration/test_reports.py's ``_sessions``), with
hand-counted figures on both databases.

November: the desk sold sofia a Physio 5-pack (400.00, paid at sale); Ana redeemed maya's
unassigned Physio uses on Nov 3 and at the Nov 4 no-show; Ben redeemed leo's unassigned Massage
uses on Nov 9 and Nov 30 (late evening: still November in Toronto); sofia's desk-sold use on
Nov 5 with Ana is not credited at redemption. Ana is staff and practitioner: one row.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from bot.services import report_months, reports
from bot.services.compensation import compensation
from bot.services.errors import InvalidInput
from bot.storage.models import Practitioner, Staff
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
