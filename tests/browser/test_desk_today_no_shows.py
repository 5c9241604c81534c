"""In Chromium: a receptionist decides the seeded no-show from the dashboard (a no-show fee),
undoes it, finds the visit on its day's page, and merges the seeded registration into Maya's
profile, by keyboard and at a 1024 px desk screen."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.conftest import PASSWORDS, ServedClinic


def test_a_receptionist_resolves_a_no_show_and_sees_the_day(served_clinic: ServedClinic,
                                                             page: Page) -> None:
    page.set_viewport_size({"width": 1024, "height": 768})
    page.goto(f"{served_clinic.url}/desk/login")
    page.get_by_label("Username").fill("desk")
    page.get_by_label("Password").fill(PASSWORDS["desk"])
    page.keyboard.press("Enter")
    page.get_by_role("link", name="Decide").click()
    expect(page.get_by_role("heading", name="To decide")).to_have_text("To decide 1")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1024
    row = page.get_by_role("row", name="Maya Chen")
    expect(row.get_by_role("button", name="Redeem package use")).to_have_count(0)
    row.get_by_label("Fee to charge").select_option(label="Late cancellation fee ($30.00)")
    row.get_by_label("Fee to charge").focus()
    page.keyboard.press("Tab")  # the keyboard reaches the button
    expect(row.get_by_role("button", name="No-show fee: Maya Chen")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("a no-show fee was charged")
    expect(page.get_by_role("heading", name="To decide")).to_have_text("To decide 0")
    decided = page.get_by_role("row", name="Maya Chen")
    expect(decided).to_contain_text("fee charged: Late cancellation fee")
    decided.get_by_role("button", name="Undo the decision: Maya Chen").click()
    expect(page.get_by_role("status")).to_contain_text("waits for a decision again")
    expect(page.get_by_role("heading", name="To decide")).to_have_text("To decide 1")
    page.get_by_role("row", name="Maya Chen").get_by_role("link").first.click()  # its day
    expect(page).to_have_url(re.compile(r"/desk/today\?day=\d{4}-\d\d-\d\d#appointment-"))
    visit = page.get_by_role("row", name="Maya Chen")
    expect(visit).to_contain_text("no-show")
    expect(visit.get_by_role("link", name="to decide")).to_be_visible()
    expect(page.get_by_role("heading", name="Ana Silva at Downtown")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 1024
    page.get_by_role("link", name="Registrations", exact=True).click()
    expect(page.get_by_role("heading", name="Maya Chen looks like Maya Chen")).to_be_visible()
    page.get_by_role("button", name="Merge Maya Chen into Maya Chen").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Merge patient")
    page.get_by_role("button", name="Yes, merge").click()
    expect(page.get_by_role("status")).to_contain_text("into the profile kept")
    expect(page.get_by_text("No registrations to merge.")).to_be_visible()
