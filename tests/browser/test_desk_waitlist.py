"""In Chromium: a receptionist opens the Waitlist from the console's navigation, reads the
entries in waitlist order, and removes one by keyboard; at a 1024 px desk screen. The entries
are added with ``clinicbot staff waitlist add``."""

from __future__ import annotations

import os
import subprocess
import sys

from playwright.sync_api import Page, expect

from tests.browser.conftest import ROOT, ServedClinic
from tests.browser.steps import log_in


def _waitlist_add(clinic: ServedClinic, *args: str) -> None:
    env = {**os.environ, "DATABASE_URL": clinic.database_url, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "bot", "staff", "waitlist", "add", *args],
                          env=env, capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr


def test_a_receptionist_removes_a_waitlist_entry(served_clinic: ServedClinic,
                                                 page: Page) -> None:
    _waitlist_add(served_clinic, "maya", "--fee", "physio-follow", "--practitioner", "ana",
                  "--day", "tue", "--part", "morning")
    _waitlist_add(served_clinic, "sofia", "--fee", "massage-60")
    page.set_viewport_size({"width": 1024, "height": 768})
    log_in(page, served_clinic.url, "desk")
    page.get_by_role("link", name="Waitlist", exact=True).click()
    expect(page.get_by_role("heading", name="Waiting")).to_have_text("Waiting 2")
    rows = page.get_by_role("row")
    expect(rows.nth(1)).to_contain_text("Maya Chen")
    expect(rows.nth(1)).to_contain_text("Tuesday, Mornings")
    expect(rows.nth(2)).to_contain_text("Sofía Ramírez")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1024
    remove = page.get_by_role("button", name="Remove from the waitlist: Maya Chen")
    remove.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("removed from the waitlist")
    expect(page.get_by_role("heading", name="Waiting")).to_have_text("Waiting 1")
    expect(page.get_by_role("row", name="Maya Chen")).to_have_count(0)
