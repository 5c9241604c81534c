"""Reading several days and parts of the day typed for the waitlist (issue 19), en/es/fr."""

from __future__ import annotations

import pytest

from bot.dialogs.wait_wishes import read

DAYS = dict(enumerate(("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday",
                       "Sunday")))
KEYS = ["any", "w0", "w1", "w2", "w3", "w4", "w5", "w6"]


@pytest.mark.parametrize(("typed", "days", "parts"), [
    ("Tuesdays or Thursdays, mornings or evenings", (1, 3), ("morning", "evening")),
    ("tue and thurs afternoons", (1, 3), ("afternoon",)),
    ("tuesdy", (1,), ()),
    ("los lunes y los miércoles por la tarde", (0, 2), ("afternoon",)),
    ("fines de semana por la mañana", (5, 6), ("morning",)),
    ("le mardi ou le jeudi soir", (1, 3), ("evening",)),
    ("les vendredis après-midi", (4,), ("afternoon",)),
    ("weekdays", (0, 1, 2, 3, 4), ()),
    ("whenever, thanks", (), ()),
])
def test_days_and_parts(typed: str, days: tuple[int, ...], parts: tuple[str, ...]) -> None:
    found = read(typed, DAYS, KEYS)
    assert (found.days, found.parts, found.keys) == (days, parts, ())


def test_numbers_pick_the_options_shown_and_the_step_labels_count() -> None:
    assert read("3 5", DAYS, KEYS).keys == ("w1", "w3")
    assert read("3, 12", DAYS, KEYS).keys == ("w1",)  # 12 is no choice
    assert read("martes", dict(enumerate(("lunes", "martes"))), KEYS).days == (1,)
    assert read("", DAYS, KEYS).empty
