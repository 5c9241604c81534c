"""Calendar arithmetic for billing periods (month ends clamp: Jan 31 + 1 month = Feb 28)."""

from __future__ import annotations

import calendar
from datetime import date

DAYS_IN_MONTH = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def add_months(day: date, months: int) -> date:
    """``day`` moved by ``months`` calendar months, clamped to the month's last day."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    if day.day <= 28:  # every month has it (the common case; a scheduler pass asks ~200,000x)
        return date(year, month, day.day)
    last = 29 if month == 2 and calendar.isleap(year) else DAYS_IN_MONTH[month - 1]
    return date(year, month, min(day.day, last))


def period_start(start: date, period: str, index: int) -> date:
    """The start of the ``index``-th period (0-based) of a plan billed from ``start``.

    Always computed from ``start`` (not from the previous period) so month-end starts do not
    drift: a member from Jan 31 renews on Feb 28, then Mar 31.
    """
    months = 12 if period == "annual" else 1
    return add_months(start, months * index)


def first_period_after(start: date, period: str, after: date) -> int:
    """The index of the first period of a plan billed from ``start`` that starts after
    ``after`` (found from the months between them, not by counting periods from the first)."""
    step = 12 if period == "annual" else 1
    months = (after.year - start.year) * 12 + after.month - start.month
    index = max(0, months // step)
    # Each bound moves at most a period or two (month ends clamp); both loops are bounded.
    while index > 0 and period_start(start, period, index - 1) > after:
        index -= 1
    while period_start(start, period, index) <= after:
        index += 1
    return index
