"""In Chromium: a receptionist logs in to the console and sees the dashboard's queues; the
screenshot is saved to docs/desk-dashboard.png for the README (so it stays current)."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser.conftest import PASSWORDS, ROOT, ServedClinic

SCREENSHOT = ROOT / "docs" / "desk-dashboard.png"


def test_a_receptionist_logs_in_and_sees_the_dashboard(served_clinic: ServedClinic,
                                                       page: Page) -> None:
    page.goto(f"{served_clinic.url}/desk/")
    expect(page).to_have_url(f"{served_clinic.url}/desk/login")
    page.get_by_label("Username").fill("desk")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_have_text("Wrong username or password.")
    page.get_by_label("Password").fill(PASSWORDS["desk"])
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{served_clinic.url}/desk/")
    nav = page.get_by_role("navigation")
    for label in ("Today", "Patients", "No-shows", "Registrations", "Unpaid", "Messages",
                  "Reports"):
        expect(nav.get_by_role("link", name=label, exact=True)).to_be_visible()
    expect(nav.get_by_role("button", name="Log out")).to_be_visible()
    for heading in ("No-shows to decide", "Registrations to merge", "Failed deliveries"):
        expect(page.get_by_role("heading", name=heading)).to_have_text(f"{heading} 1")
    expect(page.get_by_role("heading", name="Unpaid invoices")).to_be_visible()
    expect(page.get_by_role("row", name="Physio follow-up")).to_contain_text("$85.00")
    expect(page.get_by_role("row", name="cannot receive texts")).to_contain_text("Maya Chen")
    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    assert Path(SCREENSHOT).stat().st_size > 10_000
    page.set_viewport_size({"width": 1024, "height": 768})  # a desk screen: nothing sideways
    assert page.evaluate("document.documentElement.scrollWidth") <= 1024
    page.keyboard.press("Tab")  # the keyboard reaches the skip link first, then the menu
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Tab")
    expect(nav.get_by_role("link", name="Today", exact=True)).to_be_focused()
    page.get_by_role("link", name="Patients", exact=True).click()
    page.get_by_label("Name, phone or patient id").fill("(416) 555-0101")
    page.keyboard.press("Enter")
    expect(page.get_by_role("link", name="Maya Chen")).to_have_count(1)
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(f"{served_clinic.url}/desk/login")
