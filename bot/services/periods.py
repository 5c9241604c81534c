"""Calendar arithmetic for billing periods (month ends clamp: Jan 31 + 1 month = Feb 28)."""

from __future__ import annotations

import calendar
from datetime import date


def add_months(day: date, months: int) -> date:
    """``day`` moved by ``months`` calendar months, clamped to the month's last day."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    last = calendar.monthrange(year, month)[1]
    return date(year, month, min(day.day, last))


def period_start(start: date, period: str, index: int) -> date:
    """The start of the ``index``-th period (0-based) of a plan billed from ``start``.

    Always computed from ``start`` (not from the previous period) so month-end starts do not
    drift: a member from Jan 31 renews on Feb 28, then Mar 31.
    """
    months = 12 if period == "annual" else 1
    return add_months(start, months * index)
