"""In Chromium: a receptionist sells Maya a physio 5-pack and takes its payment, and sees it
on the package's page; then the manager refunds it after the confirmation, at a 1024 px desk
screen."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.conftest import ServedClinic
from tests.browser.steps import log_in, patient_id_of, record_payment, refund, sell_package


def test_a_package_is_sold_paid_and_refunded(served_clinic: ServedClinic, page: Page) -> None:
    url = served_clinic.url
    page.set_viewport_size({"width": 1024, "height": 768})
    log_in(page, url, "desk")
    maya = patient_id_of(page, url, "Chen", "Maya Chen")
    package_id = sell_package(page, url, maya, "Physio 5-pack")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1024
    record_payment(page, "400.00", "card")
    facts = page.locator("dl.facts")
    expect(facts).to_contain_text("active")
    expect(facts).to_contain_text("5 = 0 redeemed + 0 booked + 5 available")
    expect(page.get_by_role("row", name="card")).to_contain_text("$400.00")
    expect(page.get_by_role("button", name="Refund…")).to_have_count(0)  # reception
    page.get_by_role("button", name="Log out").click()
    log_in(page, url, "mia")
    page.goto(f"{url}/desk/packages/{package_id}")
    expect(page.get_by_text("Suggested refund: $400.00")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 1024
    refund(page, url, package_id, "350.00")
    expect(page.locator("dl.facts")).to_contain_text("$350.00")
    expect(page.locator("dl.facts")).to_contain_text("refunded")
