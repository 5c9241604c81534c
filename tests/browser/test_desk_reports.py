"""In Chromium: a manager opens Reports, changes the range, sees a chart and downloads a CSV;
then a receptionist keeps the seeded look-alike registration separate and the queue empties.
At a 1024 px desk screen."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.conftest import ServedClinic
from tests.browser.steps import download_report, keep_separate, log_in, open_report


def test_a_manager_reads_reports_and_the_desk_keeps_a_registration_separate(
        served_clinic: ServedClinic, page: Page) -> None:
    url = served_clinic.url
    page.set_viewport_size({"width": 1024, "height": 768})
    log_in(page, url, "mia")
    open_report(page, url, "2026-09-01", "2026-12-31")
    chart = page.get_by_role("img", name="Package sales by package")
    expect(chart).to_be_visible()
    sales = page.locator("#package-sales")
    expect(sales.get_by_role("cell", name="Maya Chen")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 1024
    text = download_report(page, "Package sales")
    assert text.startswith("package_id,sold_on,patient_id,patient_name,package,")
    assert "Maya Chen" in text
    page.get_by_role("button", name="Log out").click()

    log_in(page, url, "desk")
    expect(page.get_by_role("link", name="Reports", exact=True)).to_be_visible()
    keep_separate(page, url, "Maya Chen", "Maya Chen")
    expect(page.get_by_text("No registrations to merge.")).to_be_visible()
    page.goto(f"{url}/desk/")
    expect(page.get_by_text("No registrations to merge.")).to_be_visible()
