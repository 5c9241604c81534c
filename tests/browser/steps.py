"""Steps a receptionist takes in the console, shared by the browser tests (and composed into
the receptionist's morning, ``test_desk_morning.py``). Each step drives the page as a person
would (labels, roles, button names) and checks that it worked before it returns."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.conftest import PASSWORDS


def log_in(page: Page, url: str, key: str = "desk") -> None:
    """Log in as staff member ``key`` (a key of :data:`PASSWORDS`) and land on the dashboard."""
    page.goto(f"{url}/desk/login")
    page.get_by_label("Username").fill(key)
    page.get_by_label("Password").fill(PASSWORDS[key])
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{url}/desk/")


def find_patient(page: Page, url: str, query: str, name: str) -> None:
    """Search Patients for ``query`` and open the profile of the patient called ``name``."""
    page.goto(f"{url}/desk/patients")
    page.get_by_label("Name, phone or patient id").fill(query)
    page.keyboard.press("Enter")
    page.get_by_role("link", name=name).first.click()
    expect(page.get_by_role("heading", name=name, level=1)).to_be_visible()
