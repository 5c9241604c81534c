"""``clinicbot report memberships`` and ``clinicbot report compensation`` as the clinic runs
them (RULES.md 12, 13, 16), and the ``months`` sections of the package reports: tables, CSV with
one header line, the renewal window's bounds, and bad ranges exiting 2 with a clear message.

The example clinic: sofia is a monthly member from 2026-09-01; its two sales are unassigned.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest

from tests.e2e.test_cli_staff_support import Clinicbot, example_desk, past_appointment

SPAN = ("--from", "2026-09-01", "--to", "2026-12-31")


@pytest.fixture
def desk(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Clinicbot:
    return example_desk(tmp_path, tmp_path_factory)


def parse(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_memberships_per_plan_and_month_as_table_and_csv(desk: Clinicbot) -> None:
    desk.ok("staff", "enrol", "maya", "wellness-annual", "--start", "2026-10-15")
    enrolled = desk.ok("staff", "enrol", "leo", "wellness-monthly", "--start", "2026-11-30")
    leos = re.search(r"membership (\d+),", enrolled)
    assert leos is not None, enrolled
    desk.ok("staff", "cancel-membership", leos.group(1), "--from", "2026-12-31")

    months = desk.ok("report", "memberships", *SPAN, "--format", "csv")
    assert months.splitlines() == [
        "month,active_at_start,joined,ended,active_at_end,churn_percent",
        "2026-09,0,1,0,1,",
        "2026-10,1,1,0,2,0.0",
        "2026-11,2,1,0,3,0.0",
        "2026-12,3,0,1,2,33.3",  # leo's ended from Dec 31: one of three
    ]
    plans = parse(desk.ok("report", "memberships", *SPAN, "--section", "plans",
                          "--format", "csv"))
    assert [(p["plan"], p["active"], p["joined"], p["ended"], p["renewals_due"])
            for p in plans] == [
        ("wellness-annual", "1", "1", "0", "0"),
        ("wellness-monthly", "1", "2", "1", "1"),  # sofia renews 2027-01-01
    ]
    # A year ahead: sofia renews 13 times (2027-01-01 to 2028-01-01), maya once (2027-10-15).
    year = parse(desk.ok("report", "memberships", *SPAN, "--section", "plans", "--days", "366",
                         "--format", "csv"))
    assert [p["renewals_due"] for p in year] == ["1", "13"]
    table = desk.ok("report", "memberships", *SPAN).splitlines()
    assert table[0] == "Memberships 2026-09-01 to 2026-12-31:"
    assert "By plan:" in table and "By month:" in table
    total = next(line for line in table if line.startswith("total"))
    assert total.split() == ["total", "2", "1"]
    assert table[-1].split() == ["2026-12", "3", "0", "1", "2", "33.3"]

    refused = desk.refused("report", "memberships", "--from", "2026-12-31", "--to", "2026-09-01")
    assert "swap --from and --to" in refused.stderr
    assert "--days" in desk.refused("report", "memberships", "--days", "367").stderr


def test_compensation_both_ways_and_the_months_sections(desk: Clinicbot) -> None:
    visit = past_appointment(desk.url)  # an unassigned Physio 5-pack covers it, with Ana
    desk.ok("staff", "arrive", str(visit.appointment_id))
    desk.ok("staff", "sell", "sofia", "physio-5", "--by", "desk", "--on", visit.day.isoformat())
    day = ("--from", visit.day.isoformat(), "--to", visit.day.isoformat())
    rows = parse(desk.ok("report", "compensation", *day, "--format", "csv"))
    assert [(r["name"], r["sales_at_sale"], r["amount_at_sale"],
             r["uses_credited_at_redemption"], r["of_which_no_shows"]) for r in rows] == [
        ("Ana Silva", "0", "0.00", "1", "0"),
        ("Front desk", "1", "400.00", "0", "0"),
    ]
    table = desk.ok("report", "compensation", *day).splitlines()
    assert table[0] == f"Compensation {visit.day} to {visit.day}:"
    assert table[-2].split() == ["total", "1", "400.00", "1"]
    assert table[-1].split() == ["unassigned", "sales", "1", "400.00"]

    sales = parse(desk.ok("report", "package-sales", *SPAN, "--section", "months",
                          "--format", "csv"))
    assert [(m["month"], m["sold"], m["price"]) for m in sales][:2] == [
        ("2026-09", "1", "990.00"), ("2026-10", "1", "400.00")]
    assert [m["month"] for m in sales] == ["2026-09", "2026-10", "2026-11", "2026-12"]
    uses = parse(desk.ok("report", "package-usage", *day, "--section", "months",
                         "--format", "csv"))
    assert uses == [{"month": visit.day.strftime("%Y-%m"), "at_sessions": "1",
                     "at_no_shows": "0", "uses": "1"}]
    refused = desk.refused("report", "compensation", "--from", "2026-12-31", "--to", "2026-09-01")
    assert "swap --from and --to" in refused.stderr
