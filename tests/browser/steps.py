"""Steps a receptionist takes in the console, shared by the browser tests (and composed into
the receptionist's morning, ``test_desk_morning.py``). Each step drives the page as a person
would (labels, roles, button names) and checks that it worked before it returns."""

from __future__ import annotations

import re
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


def patient_id_of(page: Page, url: str, query: str, name: str) -> int:
    """Search Patients for ``query``; the id of the patient called ``name`` (from the link)."""
    page.goto(f"{url}/desk/patients")
    page.get_by_label("Name, phone or patient id").fill(query)
    page.keyboard.press("Enter")
    href = page.get_by_role("link", name=name).first.get_attribute("href")
    assert href is not None and href.startswith("/desk/patients/"), href
    return int(href.rsplit("/", 1)[-1])


def sell_package(page: Page, url: str, patient_id: int, template_name: str) -> int:
    """Sell the package ``template_name`` to the patient; the new package's id (its page open,
    awaiting payment)."""
    page.goto(f"{url}/desk/patients/{patient_id}/sell")
    page.get_by_label(template_name).check()
    page.get_by_role("button", name="Sell and invoice").click()
    expect(page.get_by_role("status")).to_contain_text("Package sold")
    expect(page.get_by_role("heading", level=1)).to_contain_text(template_name)
    expect(page.get_by_text("awaiting payment")).to_be_visible()
    return int(page.url.split("/desk/packages/")[1].split("?")[0])


def record_payment(page: Page, amount: str, method: str = "card") -> None:
    """From a page listing an open invoice (a package's page), record ``amount`` received by
    ``method`` (its label: at the desk, card, cash, cheque) on the first one; back on that
    page, which confirms it."""
    came_from = page.url.split("?")[0]
    page.get_by_role("link", name="Record a payment").first.click()
    page.get_by_label("Amount received").fill(amount)
    page.get_by_label("Method").select_option(label=method)
    page.get_by_role("button", name="Record payment").click()
    expect(page).to_have_url(re.compile(re.escape(came_from) + r"\?paid=\d+$"))
    expect(page.get_by_role("status")).to_contain_text("Payment recorded on invoice")


def refund(page: Page, url: str, package_id: int, amount: str | None = None) -> None:
    """As a manager, refund the package (``amount`` None: the suggested amount), after the
    confirmation page's figures."""
    page.goto(f"{url}/desk/packages/{package_id}")
    if amount is not None:
        page.get_by_label("Amount to refund").fill(amount)
    page.get_by_role("button", name="Refund…").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Refund")
    expect(page.get_by_text("The package ends")).to_be_visible()
    page.get_by_role("button", name=re.compile(r"^Yes, refund")).click()
    expect(page.get_by_role("status")).to_contain_text("The package was refunded")


def open_statement(page: Page, url: str, package_id: int) -> None:
    """From the package's page, open its statement (the print view) and check its figures are
    there; printed, the console's header is left out."""
    page.goto(f"{url}/desk/packages/{package_id}")
    page.get_by_role("link", name="Statement (print)").click()
    expect(page).to_have_url(f"{url}/desk/packages/{package_id}/statement")
    expect(page.get_by_role("heading", name="Package statement", level=1)).to_be_visible()
    expect(page.locator("dl.facts")).to_contain_text(f"(package {package_id})")
    expect(page.get_by_role("heading", name="Sessions covered")).to_be_visible()
    page.emulate_media(media="print")
    expect(page.get_by_role("navigation", name="Console")).to_be_hidden()
    expect(page.get_by_role("link", name="Download PDF")).to_be_hidden()
    page.emulate_media(media="screen")


def download_statement(page: Page) -> bytes:
    """On a statement's print view (or the package's page), download the PDF; its bytes."""
    with page.expect_download() as event:
        page.get_by_role("link", name="Download PDF").click()
    download = event.value
    assert download.suggested_filename.startswith("statement-package-")
    body = Path(download.path()).read_bytes()
    assert body.startswith(b"%PDF-")
    return body
