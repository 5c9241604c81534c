"""In Chromium: a receptionist opens Maya's profile from the search, adds Sofía as a guardian
(by her phone as typed), enrols Maya in the monthly plan, and finds the seeded overdue invoice
on the Unpaid page, at a 1024 px desk screen."""

from __future__ import annotations

import re
from datetime import date

from playwright.sync_api import Page, expect

from tests.browser.conftest import ServedClinic
from tests.browser.steps import add_guardian, enrol, find_patient, log_in, open_unpaid


def test_a_receptionist_keeps_a_patients_file(served_clinic: ServedClinic, page: Page) -> None:
    url = served_clinic.url
    page.set_viewport_size({"width": 1024, "height": 768})
    log_in(page, url)
    find_patient(page, url, "+1 416 555 0101", "Maya Chen")
    expect(page.get_by_text("(416) 555-0101")).to_be_visible()
    add_guardian(page, "(416) 555-0102", "Sofía Ramírez")
    enrol(page, "Wellness membership (monthly) ($49.00)", date.today().isoformat())
    expect(page.get_by_role("link", name="Sell a package")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 1024
    open_unpaid(page, url)
    row = page.get_by_role("row", name=re.compile("Physio follow-up"))
    expect(row).to_contain_text("Maya Chen")
    expect(row).to_contain_text("$85.00")
    expect(row.get_by_role("link", name=re.compile("Pay invoice"))).to_have_attribute(
        "href", re.compile(r"/desk/invoices/\d+/pay"))
    assert page.evaluate("document.documentElement.scrollWidth") <= 1024
    row.get_by_role("link", name="Maya Chen", exact=True).click()
    expect(page.get_by_role("heading", name="Maya Chen", level=1)).to_be_visible()
