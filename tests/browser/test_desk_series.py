"""In Chromium: from the page of a package just sold and paid, a receptionist sees the dates
of its five sessions every week and books them all at once (issue 19), at a 1024 px desk
screen; the page's fields are labelled and the dates read before anything is booked."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from playwright.sync_api import Page, expect

from tests.browser.conftest import ServedClinic
from tests.browser.steps import log_in, patient_id_of, record_payment, sell_package

TUESDAY = 1


def next_tuesday() -> date:
    day = datetime.now(ZoneInfo("America/Toronto")).date() + timedelta(days=2)
    while day.weekday() != TUESDAY:
        day += timedelta(days=1)
    return day


def test_a_package_is_booked_as_a_weekly_series(served_clinic: ServedClinic, page: Page) -> None:
    url = served_clinic.url
    page.set_viewport_size({"width": 1024, "height": 768})
    log_in(page, url, "desk")
    maya = patient_id_of(page, url, "Chen", "Maya Chen")
    package_id = sell_package(page, url, maya, "Physio 5-pack")
    record_payment(page, "400.00", "card")
    page.get_by_role("link", name="Book the remaining uses as a series").click()
    expect(page).to_have_url(f"{url}/desk/packages/{package_id}/series")
    page.get_by_label("Treatment, practitioner, location").select_option(
        label="Physiotherapy follow-up, Ana Silva, Downtown")
    page.get_by_label("First session (clinic time)").fill(f"{next_tuesday()}T10:00")
    page.get_by_label("Days between sessions (7: every week)").fill("7")
    page.get_by_role("button", name="Show the dates").click()
    dates = page.get_by_role("region", name="Dates (nothing is booked yet)")
    expect(dates.get_by_role("listitem")).to_have_count(5)
    assert page.evaluate("document.documentElement.scrollWidth") <= 1024
    page.get_by_role("button", name="Book these 5 sessions").click()
    expect(page.get_by_role("status")).to_have_text("Booked 5 sessions as a series.")
    expect(page.locator("dl.facts")).to_contain_text("5 = 0 redeemed + 5 booked + 0 available")
