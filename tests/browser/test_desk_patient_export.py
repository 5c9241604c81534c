"""In Chromium: a receptionist downloads everything held about Maya from her profile (the JSON
file: her profile, her ward Leo by name only) and opens its readable copy in a new tab; then,
asked for it, with Leo's full data too."""

from __future__ import annotations

import json
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser.conftest import ServedClinic
from tests.browser.steps import find_patient, log_in


def _download(page: Page, *, wards: bool = False) -> dict[str, object]:
    box = page.get_by_label("Include the full data of the family members they manage")
    box.set_checked(wards)
    with page.expect_download() as event:
        page.get_by_role("button", name="Download data (JSON)").click()
    download = event.value
    assert download.suggested_filename.startswith("patient-")
    found: dict[str, object] = json.loads(Path(download.path()).read_text(encoding="utf-8"))
    return found


def test_a_receptionist_exports_a_patients_data(served_clinic: ServedClinic,
                                                page: Page) -> None:
    url = served_clinic.url
    log_in(page, url)
    find_patient(page, url, "Chen", "Maya Chen")
    doc = _download(page)
    assert doc["format"] == "clinicbot-patient-export/1"
    assert doc["patient"]["first_name"] == "Maya"  # type: ignore[index]
    assert [w["name"] for w in doc["wards"]] == ["Leo Chen"]  # type: ignore[attr-defined]
    assert "ward_exports" not in doc
    assert any(p["name"] == "Physio 5-pack" for p in doc["packages"])  # type: ignore[attr-defined]
    with page.context.expect_page() as opened:
        page.get_by_role("button", name="Readable copy").click()
    copy = opened.value
    expect(copy.get_by_role("heading", name="Data held about Maya Chen")).to_be_visible()
    expect(copy.get_by_role("heading", name="Packages")).to_be_visible()
    copy.close()
    with_wards = _download(page, wards=True)
    wards = with_wards["ward_exports"]
    assert [w["patient"]["first_name"] for w in wards] == ["Leo"]  # type: ignore[attr-defined]
