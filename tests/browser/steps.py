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


def open_patient(page: Page, url: str, patient_id: int) -> None:
    """Open the profile of patient ``patient_id`` (its heading is the patient's name)."""
    page.goto(f"{url}/desk/patients/{patient_id}")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.get_by_role("heading", name="Packages & Memberships")).to_be_visible()


def add_guardian(page: Page, typed: str, name: str) -> None:
    """On the open profile, add the guardian typed as ``typed`` (id, key or phone), who is
    called ``name``; the guardian is then listed with a link to their profile."""
    page.get_by_label("Guardian's patient id, key or phone").fill(typed)
    page.get_by_role("button", name="Add guardian").click()
    expect(page.get_by_role("status")).to_have_text("Guardian added.")
    guardians = page.get_by_role("table", name="Guardians (may act for this patient)")
    expect(guardians.get_by_role("link", name=name)).to_be_visible()


def enrol(page: Page, plan: str, start: str) -> None:
    """On the open profile, enrol in the plan whose choice reads ``plan`` from ``start``
    (YYYY-MM-DD); the membership is then listed."""
    page.get_by_label("Membership plan").select_option(label=plan)
    page.get_by_label("Start date").fill(start)
    page.get_by_role("button", name="Enrol").click()
    expect(page.get_by_role("status")).to_have_text("Enrolled in the membership.")
    memberships = page.get_by_role("table", name="Memberships")
    expect(memberships.get_by_role("row").nth(1)).to_contain_text(plan.split(" (")[0])


def open_unpaid(page: Page, url: str) -> None:
    """Open Unpaid from the navigation."""
    page.goto(f"{url}/desk/")
    page.get_by_role("link", name="Unpaid", exact=True).click()
    expect(page.get_by_role("heading", name="Unpaid invoices", level=1)).to_be_visible()
