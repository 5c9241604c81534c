"""Dates and times as text (bot.i18n): kept once formatted, yet always what Babel writes for
that locale, that zone and that instant."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_skeleton

from bot.i18n import fill, translator

TORONTO = ZoneInfo("America/Toronto")
TOKYO = ZoneInfo("Asia/Tokyo")


def test_kept_texts_are_babels_for_each_locale():
    days = [date(2026, 12, 1) + timedelta(days=n) for n in range(40)]
    for locale in ("en", "es", "fr", "fr_CA"):
        t = translator(locale)
        for _ in range(2):  # formatted, then kept
            assert [t.day_month_text(d) for d in days] == [
                format_skeleton("dMMMM", d, locale=t.locale) for d in days]
            assert [t.weekday_text(d) for d in days] == [
                format_date(d, format="EEE d MMM", locale=t.locale) for d in days]
            assert [t.date_text(d, "long") for d in days] == [
                format_date(d, format="long", locale=t.locale) for d in days]


def test_one_instant_reads_as_its_zone_shows_it():
    """Equal instants are one key for times (the zone is part of it), never for dates: a
    datetime's date is its own wall date."""
    t = translator("en")
    instant = datetime(2026, 12, 7, 23, 30, tzinfo=UTC)
    in_tokyo = instant.astimezone(TOKYO)  # equal to ``instant``, Tuesday 8 December there
    assert in_tokyo == instant
    assert t.time_text(instant, TORONTO) == "6:30 PM"
    assert t.time_text(in_tokyo, TOKYO) == "8:30 AM"
    assert t.datetime_text(instant, TORONTO) == "Mon 7 Dec, 6:30 PM"
    assert t.datetime_text(in_tokyo, TOKYO) == "Tue 8 Dec, 8:30 AM"
    assert t.date_text(instant, "long") == "December 7, 2026"
    assert t.date_text(in_tokyo, "long") == "December 8, 2026"
    assert t.day_month_text(in_tokyo) == "December 8"


def test_a_kept_message_is_filled_afresh_each_time():
    text = "{first} and {second:>3}."
    assert fill(text, {"first": "a", "second": "b"}) == "a and   b."
    assert fill(text, {"first": "7 déc.", "second": "x."}) == "7 déc. and  x."
    assert fill(text, {"first": 1, "second": 2}) == "1 and   2."
