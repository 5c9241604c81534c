"""In Chromium: a manager opens Maya's profile, clicks Erase and is told what to settle first
(her overdue invoice, her missed visit); then erases the online registration (patient 4, no
business with the clinic) after confirming, and its profile is anonymous. A receptionist is
not offered Erase."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.conftest import ServedClinic
from tests.browser.steps import find_patient, log_in, open_patient


def test_a_manager_erases_a_patient_after_confirming(served_clinic: ServedClinic,
                                                    page: Page) -> None:
    url = served_clinic.url
    log_in(page, url)
    find_patient(page, url, "+1 416 555 0101", "Maya Chen")
    expect(page.get_by_role("link", name="Erase personal data")).to_have_count(0)
    page.get_by_role("button", name="Log out").click()

    log_in(page, url, "mia")
    find_patient(page, url, "+1 416 555 0101", "Maya Chen")
    page.get_by_role("link", name="Erase personal data").click()
    expect(page.get_by_text("This patient cannot be erased yet. Settle these first:")
           ).to_be_visible()
    reasons = page.locator(".erase-reasons li")
    expect(reasons.filter(has_text=re.compile(r"invoice \d+ \(Physio follow-up\) owes 85\.00"))
           ).to_have_count(1)
    expect(page.get_by_role("button", name="Yes, erase")).to_have_count(0)

    open_patient(page, url, 4)
    page.get_by_role("link", name="Erase personal data").click()
    expect(page.get_by_role("heading", name="Erase Maya Chen (patient 4)?")).to_be_visible()
    expect(page.get_by_text("This cannot be undone.", exact=False)).to_be_visible()
    page.get_by_role("button", name="Yes, erase").click()
    expect(page.get_by_role("heading", name="Erased patient #4", level=1)).to_be_visible()
    expect(page.get_by_role("status")).to_have_text("Personal data erased.")
    expect(page.get_by_text("(416) 555-0199")).to_have_count(0)
