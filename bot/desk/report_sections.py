"""The newer parts of ``/desk/reports`` (:mod:`bot.desk.reports`): the package reports month by
month and staff compensation both ways (RULES.md 12). The membership report has a page of its
own (:mod:`bot.desk.report_members`).

:func:`load` reads them for the page's range (a fixed number of queries, see
:mod:`bot.services.compensation`; the months regroup the sales and usage the page has read
already) and :func:`charts` draws their charts, each with its text alternative
(:func:`bot.desk.charts.bar_chart`). Their CSV downloads are the report tables
``sales-by-month``, ``uses-by-month`` and ``compensation`` of
:mod:`bot.services.report_tables`, as ``clinicbot report`` writes them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from bot.desk.charts import Chart, Number, bar_chart
from bot.desk.web import Desk
from bot.services import report_months, reports
from bot.services.compensation import Compensation, compensation
from bot.storage.uow import UnitOfWork


@dataclass(frozen=True)
class Sections:
    """What the newer sections show: months and compensation."""

    sales_months: list[report_months.SalesMonth]
    uses_months: list[report_months.UsesMonth]
    no_show_months: list[reports.NoShowRow]
    compensation: Compensation


async def load(uow: UnitOfWork, first: date, last: date, sales: reports.PackageSales,
               usage: reports.PackageUsage) -> Sections:
    """The sections for ``first`` to ``last`` (``sales`` and ``usage`` read for that range)."""
    return Sections(
        sales_months=report_months.sales_by_month(sales),
        uses_months=report_months.uses_by_month(usage),
        no_show_months=report_months.no_shows_by_month(usage),
        compensation=await compensation(uow, first, last),
    )


def _count(value: Number) -> str:
    return str(value)


def charts(desk: Desk, money: Callable[[Number], str], found: Sections) -> dict[str, Chart]:
    """The sections' charts by name, titled in the staff member's language."""
    _ = desk.t.gettext
    sold = [(desk.t.ngettext("{month}: {count} sold", "{month}: {count} sold", m.sold,
                             month=m.period, count=m.sold), [m.price, m.collected])
            for m in found.sales_months]
    return {
        "sales-by-month": bar_chart(_("Package sales by month"), sold, money,
                                    [_("Price"), _("Collected")]),
        "package-usage": bar_chart(
            _("Uses redeemed by month"),
            [(m.period, [m.at_sessions, m.at_no_shows]) for m in found.uses_months],
            _count, [_("At sessions"), _("At no-shows")]),
        "no-shows": bar_chart(
            _("Package no-shows by month"),
            [(n.period, [n.redeemed, n.charged]) for n in found.no_show_months],
            _count, [_("Redeemed"), _("Charged a fee")]),
        "compensation": bar_chart(
            _("Compensation: sales and uses credited"),
            [(r.name, [r.sales, r.credited_uses]) for r in found.compensation.rows],
            _count, [_("Sold (paid at sale)"), _("Uses credited at redemption")]),
    }

