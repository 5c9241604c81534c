"""In Chromium: a receptionist sells Maya a physio 5-pack, takes part of its payment, opens the
package's statement (print view, and how it prints) and downloads its PDF, at a 1024 px desk
screen; the PDF read back has the patient, the money and the payment."""

from __future__ import annotations

import io

from playwright.sync_api import Page, expect
from pypdf import PdfReader

from tests.browser.conftest import ServedClinic
from tests.browser.steps import (
    download_statement,
    log_in,
    open_statement,
    patient_id_of,
    record_payment,
    sell_package,
)


def test_a_statement_is_read_printed_and_downloaded(served_clinic: ServedClinic,
                                                    page: Page) -> None:
    url = served_clinic.url
    page.set_viewport_size({"width": 1024, "height": 768})
    log_in(page, url, "desk")
    maya = patient_id_of(page, url, "Chen", "Maya Chen")
    package_id = sell_package(page, url, maya, "Physio 5-pack")
    record_payment(page, "150.00", "card")
    open_statement(page, url, package_id)
    facts = page.locator("dl.facts")
    expect(facts).to_contain_text("Maya Chen")
    expect(facts).to_contain_text("$250.00")  # outstanding
    expect(page.get_by_role("row", name="card")).to_contain_text("$150.00")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1024
    body = download_statement(page)
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(body)).pages)
                    .split())
    for part in ("Package statement", "Maya Chen", "$400.00", "$150.00", "$250.00", "card"):
        assert part in text, (part, text)
