"""Billing-period arithmetic (RULES.md 13): month ends clamp and never drift, annual periods."""

from __future__ import annotations

import calendar
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.services.periods import add_months, period_start


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2028, 1, 31), 1, date(2028, 2, 29)),  # leap year
        (date(2026, 1, 31), 3, date(2026, 4, 30)),
        (date(2026, 11, 30), 2, date(2027, 1, 30)),  # across the year end
        (date(2026, 12, 15), 1, date(2027, 1, 15)),
        (date(2026, 3, 31), -1, date(2026, 2, 28)),  # backwards
        (date(2026, 1, 15), -13, date(2024, 12, 15)),
        (date(2026, 5, 5), 0, date(2026, 5, 5)),
    ],
)
def test_add_months_clamps_to_the_months_last_day(day, months, expected):
    assert add_months(day, months) == expected


def test_monthly_periods_from_a_month_end_do_not_drift():
    starts = [period_start(date(2026, 1, 31), "monthly", i) for i in range(4)]
    assert starts == [date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31), date(2026, 4, 30)]


def test_annual_periods_from_february_29():
    starts = [period_start(date(2028, 2, 29), "annual", i) for i in range(5)]
    assert starts == [
        date(2028, 2, 29), date(2029, 2, 28), date(2030, 2, 28), date(2031, 2, 28),
        date(2032, 2, 29),
    ]


def test_annual_period_is_twelve_months():
    assert period_start(date(2026, 9, 1), "annual", 1) == date(2027, 9, 1)
    assert period_start(date(2026, 9, 1), "monthly", 12) == date(2027, 9, 1)


@given(
    start=st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31)),
    index=st.integers(min_value=0, max_value=240),
)
def test_every_period_starts_on_the_start_day_or_the_months_last_day(start, index):
    moved = period_start(start, "monthly", index)
    last = calendar.monthrange(moved.year, moved.month)[1]
    assert moved.day == min(start.day, last)
    assert (moved.year - start.year) * 12 + moved.month - start.month == index


@given(
    start=st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)),
    index=st.integers(min_value=0, max_value=120),
)
def test_periods_strictly_increase(start, index):
    assert period_start(start, "monthly", index) < period_start(start, "monthly", index + 1)


@given(
    start=st.dates(date(2000, 1, 1), date(2040, 12, 31)),
    after=st.dates(date(1995, 1, 1), date(2045, 12, 31)),
    period=st.sampled_from(["monthly", "annual"]),
)
def test_first_period_after_is_the_first_start_after_the_day(start, after, period):
    from bot.services.periods import first_period_after

    index = first_period_after(start, period, after)
    assert period_start(start, period, index) > after
    assert index == 0 or period_start(start, period, index - 1) <= after


@given(day=st.dates(date(1900, 1, 1), date(2100, 12, 31)), months=st.integers(-1200, 1200))
def test_add_months_agrees_with_the_calendar(day, months):
    moved = add_months(day, months)
    assert (moved.year * 12 + moved.month) - (day.year * 12 + day.month) == months
    assert moved.day == min(day.day, calendar.monthrange(moved.year, moved.month)[1])
