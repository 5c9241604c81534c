"""In Chromium: a manager sells a package credited to herself and enrols Maya in the annual
plan, then reads the reports from September to today: sales by month, package no-shows by
month, unpaid by days overdue and compensation both ways, then the membership report's page,
each with its chart; the compensation and membership CSV downloads are byte for byte
``clinicbot report``'s.
At a 1024 px desk screen."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime
from zoneinfo import ZoneInfo

from playwright.sync_api import Page, expect

from tests.browser.conftest import ROOT, ServedClinic
from tests.browser.steps import (
    download_report,
    enrol,
    log_in,
    open_patient,
    open_report,
    patient_id_of,
)


def _cli_csv(clinic: ServedClinic, *args: str) -> str:
    env = {**os.environ, "DATABASE_URL": clinic.database_url, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "bot", "report", *args, "--format", "csv"],
                          env=env, capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_manager_reads_monthly_compensation_and_membership_reports(
        served_clinic: ServedClinic, page: Page) -> None:
    url = served_clinic.url
    today = datetime.now(ZoneInfo("America/Toronto")).date().isoformat()
    page.set_viewport_size({"width": 1024, "height": 768})
    log_in(page, url, "mia")
    maya = patient_id_of(page, url, "Maya", "Maya Chen")
    page.goto(f"{url}/desk/patients/{maya}/sell")
    page.get_by_label("Physio 5-pack").check()
    page.get_by_label("Credit the sale to me").check()
    page.get_by_role("button", name="Sell and invoice").click()
    expect(page.get_by_role("status")).to_contain_text("Package sold")
    open_patient(page, url, maya)
    enrol(page, "Wellness membership (annual) ($499.00)", today)

    open_report(page, url, "2026-09-01", today)
    for title in ("Package sales by month", "Uses redeemed by month", "Package no-shows by month",
                  "Outstanding by days overdue", "Compensation: sales and uses credited"):
        expect(page.get_by_role("img", name=title)).to_be_visible()
    months = page.get_by_role("table", name="Package sales by month")
    expect(months.get_by_role("row", name="2026-09")).to_contain_text("$990.00")
    compensation = page.locator("#compensation")
    expect(compensation.get_by_role("row", name="Mia Laurent")).to_contain_text("$400.00")
    expect(compensation.get_by_role("row", name="Unassigned sales")).to_contain_text("$1,390.00")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1024
    span = ("--from", "2026-09-01", "--to", today)
    paid_at_sale = download_report(page, "Compensation")
    assert paid_at_sale == _cli_csv(served_clinic, "compensation", *span)
    assert "Mia Laurent" in paid_at_sale and ",1,400.00,0,0" in paid_at_sale

    page.get_by_role("link", name="Memberships", exact=True).click()
    expect(page.get_by_role("heading", name="Memberships", level=1)).to_be_visible()
    expect(page.get_by_label("From")).to_have_value("2026-09-01")
    expect(page.get_by_role("img", name="Members by month")).to_be_visible()
    plans = page.get_by_role("table", name="Memberships by plan")
    expect(plans.get_by_role("row", name="Wellness membership (annual)")).to_contain_text("1")
    expect(plans.get_by_role("row", name="Wellness membership (monthly)")).to_be_visible()
    by_month = page.get_by_role("table", name="Memberships by month")
    expect(by_month.get_by_role("row", name="2026-09")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 1024

    members = download_report(page, "Memberships by month")
    assert members.startswith("month,active_at_start,joined,ended,active_at_end,churn_percent\n")
    assert members.splitlines()[1] == "2026-09,0,1,0,1,"  # sofia joined on September 1
    assert members == _cli_csv(served_clinic, "memberships", *span)
    plan_csv = download_report(page, "Memberships by plan")
    assert plan_csv == _cli_csv(served_clinic, "memberships", "--section", "plans", *span)
    assert "wellness-annual,Wellness membership (annual),annual,1,1,0,0" in plan_csv
