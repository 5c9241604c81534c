"""What the desk types, read strictly: dates, amounts and clinic-local times (RULES.md 21).

A time the clocks skip is refused; one they show twice needs its UTC offset, and is shown with
it; anything that is not a date, a time or an amount with at most two decimals is a usage error.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import click
import pytest

from bot.cli.staff_common import AMOUNT, DATE, DATE_OR_NONE, LOCAL_TIME, local_text, to_utc
from bot.services.errors import InvalidInput
from bot.storage.models import Clinic

CLINIC = Clinic(timezone="America/Toronto", currency="CAD")
CLINIC_TZ = ZoneInfo("America/Toronto")


def test_a_plain_local_time_is_the_clinics_wall_clock() -> None:
    moment = to_utc(LOCAL_TIME.convert("2026-11-10 14:30", None, None), CLINIC)
    assert moment == datetime(2026, 11, 10, 19, 30, tzinfo=UTC)  # EST = UTC-5
    assert to_utc(LOCAL_TIME.convert("2026-07-10 9:05", None, None), CLINIC) == datetime(
        2026, 7, 10, 13, 5, tzinfo=UTC
    )  # EDT = UTC-4


def test_a_time_the_clocks_skip_is_refused() -> None:
    with pytest.raises(InvalidInput, match="does not exist in America/Toronto"):
        to_utc(LOCAL_TIME.convert("2027-03-14 02:30", None, None), CLINIC)


def test_a_time_shown_twice_needs_its_offset_and_is_shown_with_it() -> None:
    with pytest.raises(InvalidInput, match="-04:00' or '2027-11-07 01:30 -05:00'"):
        to_utc(LOCAL_TIME.convert("2027-11-07 01:30", None, None), CLINIC)
    first = to_utc(LOCAL_TIME.convert("2027-11-07 01:30 -04:00", None, None), CLINIC)
    second = to_utc(LOCAL_TIME.convert("2027-11-07 01:30 -0500", None, None), CLINIC)
    assert (first, second) == (
        datetime(2027, 11, 7, 5, 30, tzinfo=UTC),
        datetime(2027, 11, 7, 6, 30, tzinfo=UTC),
    )
    assert local_text(first, CLINIC_TZ) == "2027-11-07 01:30 -04:00"
    assert local_text(second, CLINIC_TZ) == "2027-11-07 01:30 -05:00"
    assert local_text(datetime(2027, 11, 7, 8, 0, tzinfo=UTC), CLINIC_TZ) == "2027-11-07 03:00"
    with pytest.raises(InvalidInput, match="is not a time in America/Toronto"):
        to_utc(LOCAL_TIME.convert("2027-11-07 01:30 +01:00", None, None), CLINIC)


@pytest.mark.parametrize(
    ("kind", "text"),
    [
        (LOCAL_TIME, "tomorrow 10:00"),
        (LOCAL_TIME, "2026-11-31 10:00"),
        (LOCAL_TIME, "2026-11-10 25:00"),
        (DATE, "2026-2-3"),
        (DATE, "2026-02-30"),
        (DATE_OR_NONE, "never"),
        (AMOUNT, "12.345"),
        (AMOUNT, "-5"),
        (AMOUNT, "1e3"),
        (AMOUNT, "NaN"),
    ],
)
def test_what_is_not_a_date_time_or_amount_is_a_usage_error(
    kind: click.ParamType, text: str
) -> None:
    with pytest.raises(click.BadParameter, match=r"give an? "):
        kind.convert(text, None, None)


def test_what_is_a_date_or_amount_is_read_exactly() -> None:
    assert DATE.convert("2026-02-28", None, None) == date(2026, 2, 28)
    assert DATE_OR_NONE.convert("None", None, None) is None
    assert AMOUNT.convert("120.5", None, None) == Decimal("120.5")
    assert AMOUNT.convert("0", None, None) == Decimal("0")
