"""In Chromium: a receptionist sells Maya an insurance-friendly package (the set-up file marks
it), takes its payment, marks two of its sessions arrived, and sees a receipt per session on
the package's page, prints one, and finds them on the statement and in its PDF (issue 18,
item 2), at a 1024 px desk screen."""

from __future__ import annotations

import io
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from tests.browser.conftest import ServedClinic, serving
from tests.browser.steps import (
    download_statement,
    log_in,
    open_statement,
    patient_id_of,
    record_payment,
    sell_package,
)
from tests.e2e.test_cli_staff_receipts import insured_clinic, past_visits


@pytest.fixture
def insured(tmp_path: Path) -> Iterator[ServedClinic]:
    with serving(tmp_path, insured_clinic(tmp_path)) as clinic:
        yield clinic


def test_each_session_has_a_receipt_on_the_page_and_the_statement(insured: ServedClinic,
                                                                  page: Page) -> None:
    url = insured.url
    page.set_viewport_size({"width": 1024, "height": 768})
    log_in(page, url, "desk")
    maya = patient_id_of(page, url, "Chen", "Maya Chen")
    page.goto(f"{url}/desk/patients/{maya}/sell")
    expect(page.get_by_text("insurance-friendly: a receipt per session")).to_be_visible()
    package_id = sell_package(page, url, maya, "Insurer-friendly physio 6")
    record_payment(page, "540.00", "card")
    receipts = page.get_by_role("region", name="Receipts for insurance claims")
    expect(receipts).to_contain_text("No receipt yet")

    with ThreadPoolExecutor(1) as pool:  # off Playwright's event loop
        visits = pool.submit(past_visits, insured.database_url, package_id, [12, 13]).result()
    for appointment_id in visits:
        page.goto(f"{url}/desk/appointments/{appointment_id}")
        page.get_by_role("button", name="Arrived").click()
        expect(page.get_by_role("status")).to_be_visible()

    page.goto(f"{url}/desk/packages/{package_id}")
    rows = receipts.get_by_role("row")
    expect(rows).to_have_count(3)  # the header and two receipts
    expect(rows.nth(1)).to_contain_text("Ana Silva")
    expect(rows.nth(1)).to_contain_text("$90.00")
    expect(rows.nth(2)).to_contain_text("$90.00")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1024

    receipts.get_by_role("link", name="Print").first.click()
    expect(page.get_by_role("heading", name="Session receipt", level=1)).to_be_visible()
    facts = page.locator("dl.facts")
    expect(facts).to_contain_text("Maya Chen")
    expect(facts).to_contain_text("$90.00")
    expect(facts).to_contain_text("Ana Silva")

    open_statement(page, url, package_id)
    table = page.get_by_role("region", name="Receipts for insurance claims")
    expect(table).to_contain_text("$180.00")  # the total row
    body = download_statement(page)
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(body)).pages)
                    .split())
    for part in ("Receipts for insurance claims", "Session value", "$90.00", "$180.00"):
        assert part in text, (part, text)
