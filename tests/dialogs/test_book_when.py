"""Reading typed days and times (bot/dialogs/when.py): pure, no database.

The clinic's local "now" is Monday 2 November 2026, 08:00 (the suite's fixed clock).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from bot.dialogs.when import Wanted, parse_wanted, part_of_day

NOW = datetime(2026, 11, 2, 8, 0)
TUE, FRI = date(2026, 11, 3), date(2026, 11, 6)


@pytest.mark.parametrize(
    ("language", "text", "expected"),
    [
        ("en", "tomorrow", Wanted(TUE, None, None)),
        ("en", "Friday", Wanted(FRI, None, None)),
        ("en", "on Friday", Wanted(FRI, None, None)),
        ("en", "Friday afternoon", Wanted(FRI, None, "afternoon")),
        ("en", "tomorrow morning", Wanted(TUE, None, "morning")),
        ("en", "12 March 3pm", Wanted(date(2027, 3, 12), time(15, 0), None)),
        ("en", "tomorrow at 10", Wanted(TUE, time(10, 0), None)),
        ("en", "Friday 3pm", Wanted(FRI, time(15, 0), None)),
        ("en", "yesterday", Wanted(date(2026, 11, 1), None, None)),
        ("es", "mañana", Wanted(TUE, None, None)),
        ("es", "manana", Wanted(TUE, None, None)),
        ("es", "viernes", Wanted(FRI, None, None)),
        ("es", "el viernes por la tarde", Wanted(FRI, None, "afternoon")),
        ("es", "mañana por la mañana", Wanted(TUE, None, "morning")),
        ("es", "mañana a las 10", Wanted(TUE, time(10, 0), None)),
        ("es", "viernes a las 3 de la tarde", Wanted(FRI, time(15, 0), None)),
        ("es", "el 12 de marzo", Wanted(date(2027, 3, 12), None, None)),
        ("fr", "demain matin", Wanted(TUE, None, "morning")),
        ("fr", "vendredi après-midi", Wanted(FRI, None, "afternoon")),
        ("fr", "vendredi 15h", Wanted(FRI, time(15, 0), None)),
        ("fr", "vendredi à 15h30", Wanted(FRI, time(15, 30), None)),
        ("es", "tomorrow", Wanted(TUE, None, None)),  # English is understood too
    ],
)
def test_days_times_and_parts_of_the_day_are_read(language, text, expected):
    assert parse_wanted(text, language, NOW) == expected


@pytest.mark.parametrize(("text", "expected_time"), [("3pm", time(15, 0)), ("12:30", time(12, 30))])
def test_a_time_alone_names_no_day(text, expected_time):
    assert parse_wanted(text, "en", NOW) == Wanted(None, expected_time, None)


def test_a_part_of_the_day_alone_names_no_day():
    assert parse_wanted("afternoon", "en", NOW) == Wanted(None, None, "afternoon")
    assert parse_wanted("por la tarde", "es", NOW) == Wanted(None, None, "afternoon")


@pytest.mark.parametrize("text", ["asdkjh", "", "November", "next week", "3", "x" * 5000, "🙂"])
def test_what_names_no_day_is_none(text):
    assert parse_wanted(text, "en", NOW) is None


def test_parts_of_the_day_split_at_noon_and_five():
    assert part_of_day(time(11, 59)) == "morning"
    assert part_of_day(time(12, 0)) == "afternoon"
    assert part_of_day(time(16, 45)) == "afternoon"
    assert part_of_day(time(17, 0)) == "evening"


def test_a_wall_time_that_occurs_twice_is_shown_with_its_zone():
    """RULES.md 21: on the autumn DST change 1:30 happens twice; the two slots differ."""
    from types import SimpleNamespace
    from zoneinfo import ZoneInfo

    from bot.dialogs.slots import slot_from_key, slot_key, time_labels
    from bot.i18n import translator

    ctx = SimpleNamespace(t=translator("en_CA"), zone=ZoneInfo("America/Toronto"))
    first, second, later = (datetime(2026, 11, 1, h, 30, tzinfo=UTC) for h in (5, 6, 8))
    assert time_labels(ctx, [first, second, later]) == [
        "1:30 a.m. EDT", "1:30 a.m. EST", "3:30 a.m.",
    ]
    assert slot_key(first) != slot_key(second)
    assert [slot_from_key(slot_key(m)) for m in (first, second)] == [first, second]
    assert slot_from_key("tnot-a-time") is None
