"""Steps a receptionist takes in the console, shared by the browser tests (and composed into
the receptionist's morning, ``test_desk_morning.py``). Each step drives the page as a person
would (labels, roles, button names) and checks that it worked before it returns."""

from __future__ import annotations

from pathlib import Path

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


def keep_separate(page: Page, url: str, registration: str, profile: str) -> None:
    """On Registrations, keep the online registration ``registration`` (a name) separate from
    the profile ``profile`` it resembles; the page confirms it (with Undo)."""
    page.goto(f"{url}/desk/registrations")
    page.get_by_role("button", name=f"Keep {registration} separate from {profile}").click()
    expect(page.get_by_role("status")).to_contain_text(
        f"Kept {registration} and {profile} separate")
    expect(page.get_by_role("button", name="Undo")).to_be_visible()


def open_report(page: Page, url: str, date_from: str, date_to: str) -> None:
    """Open Reports from the navigation (a manager) and show the range ``date_from`` to
    ``date_to`` (YYYY-MM-DD)."""
    page.goto(f"{url}/desk/")
    page.get_by_role("link", name="Reports", exact=True).click()
    expect(page.get_by_role("heading", name="Reports", level=1)).to_be_visible()
    page.get_by_label("From").fill(date_from)
    page.get_by_label("To", exact=True).fill(date_to)
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(f"{url}/desk/reports?from={date_from}&to={date_to}")
    expect(page.get_by_label("From")).to_have_value(date_from)


def download_report(page: Page, report: str) -> str:
    """Download the report called ``report`` (its heading) as CSV from the Reports page; its
    text."""
    with page.expect_download() as started:
        page.get_by_role("link", name=f"Download {report} as CSV").click()
    download = started.value
    assert download.suggested_filename.endswith(".csv")
    return Path(download.path()).read_text(encoding="utf-8")
