"""The package reports month by month across their whole range (RULES.md 22), for the
console's charts and the ``months`` sections of ``clinicbot report``.

Pure: each function regroups a report :mod:`bot.services.reports` already read, so no query
is added. Every month the range touches is listed, the empty ones too (a month with no sale
shows as zero, not as a gap). Months are ``YYYY-MM`` in clinic time; the first and last may be
partial (the range's own days only).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from bot.services.billing import ZERO
from bot.services.reports import NoShowRow, PackageSales, PackageUsage


def months(date_from: date, date_to: date) -> list[str]:
    """Every month from ``date_from``'s to ``date_to``'s, as ``YYYY-MM``, oldest first."""
    found: list[str] = []
    year, month = date_from.year, date_from.month
    while (year, month) <= (date_to.year, date_to.month):
        found.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return found


@dataclass(frozen=True)
class SalesMonth:
    """Packages sold in one month: how many, their prices and what they brought in."""

    period: str
    sold: int
    price: Decimal
    collected: Decimal


@dataclass(frozen=True)
class UsesMonth:
    """Uses redeemed in one month, at sessions and at no-shows."""

    period: str
    at_sessions: int
    at_no_shows: int

    @property
    def uses(self) -> int:
        return self.at_sessions + self.at_no_shows


def sales_by_month(report: PackageSales) -> list[SalesMonth]:
    """The sales of ``report`` per month of purchase, every month of its range."""
    sold = dict.fromkeys(months(report.date_from, report.date_to), 0)
    price = dict.fromkeys(sold, ZERO)
    collected = dict.fromkeys(sold, ZERO)
    for sale in report.rows:
        period = sale.sold_on.strftime("%Y-%m")
        sold[period] += 1
        price[period] += sale.price
        collected[period] += sale.collected
    return [SalesMonth(period, sold[period], price[period], collected[period])
            for period in sold]


def uses_by_month(report: PackageUsage) -> list[UsesMonth]:
    """The uses of ``report`` per month of the session, every month of its range."""
    totals = {period: [0, 0] for period in months(report.date_from, report.date_to)}
    for row in report.rows:
        totals[row.period][0] += row.at_sessions
        totals[row.period][1] += row.at_no_shows
    return [UsesMonth(period, sessions, no_shows)
            for period, (sessions, no_shows) in totals.items()]


def no_shows_by_month(report: PackageUsage) -> list[NoShowRow]:
    """Package no-shows redeemed vs charged per month, every month of the range."""
    found = {row.period: row for row in report.no_shows}
    return [found.get(period, NoShowRow(period=period))
            for period in months(report.date_from, report.date_to)]
