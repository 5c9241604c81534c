"""In Chromium: a receptionist books Maya from the console, moves the appointment, cancels it,
and closes the clinic on a day that then offers no times, at a 1024 px desk screen."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from playwright.sync_api import Page, expect

from tests.browser.conftest import ServedClinic
from tests.browser.steps import (
    add_closure,
    book_at,
    cancel_appointment,
    log_in,
    reschedule_to,
)

MAYA = 1  # the first patient of the example file


def _next(weekday: int, after: date) -> date:
    """The first ``weekday`` (0 = Monday) more than a day after ``after``."""
    day = after + timedelta(days=2)
    return day + timedelta(days=(weekday - day.weekday()) % 7)


def test_a_receptionist_books_moves_and_cancels_and_closes_a_day(
        served_clinic: ServedClinic, page: Page) -> None:
    url = served_clinic.url
    page.set_viewport_size({"width": 1024, "height": 768})
    today = datetime.now(ZoneInfo("America/Toronto")).date()
    tuesday = _next(1, today)
    log_in(page, url)
    booked = book_at(page, url, MAYA, fee="Physiotherapy follow-up",
                     where="Ana Silva at Downtown", day=tuesday.isoformat(), time="10:00 a.m.")
    expect(page.get_by_role("link", name="Physio 5-pack")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 1024
    wednesday = (tuesday + timedelta(days=1)).isoformat()
    reschedule_to(page, url, booked, day=wednesday, time="11:30 a.m.")
    cancel_appointment(page, url, booked)
    thursday = (tuesday + timedelta(days=2)).isoformat()
    add_closure(page, url, thursday, "Staff training")
    page.goto(f"{url}/desk/patients/{MAYA}/book?day={wednesday}")
    expect(page.locator(f"#day-{thursday}")).to_contain_text("No free time")
    expect(page.locator(f"#day-{wednesday}").get_by_role("button")).not_to_have_count(0)
    assert page.evaluate("document.documentElement.scrollWidth") <= 1024
