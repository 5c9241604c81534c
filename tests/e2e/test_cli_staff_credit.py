"""``clinicbot staff`` and ``report`` for patient credit (RULES.md 9), run as the desk runs them.

Issue 14: a $400 package sold, $200 paid, then refunded left $200 "owed" in ``report unpaid``
and the credit nowhere. Now the refund settles the invoice, the credit shows in ``staff
invoices``, ``staff credit`` and ``report credit``, and ``staff pay INVOICE --from-credit``
spends it, never beyond what the invoice owes or the credit holds. Refusals exit 2 with one
line and change nothing.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from tests.conftest import EXAMPLE_FILE
from tests.e2e.test_cli_staff_support import Clinicbot, number, query


def _sell(desk: Clinicbot) -> tuple[int, int]:
    sold = desk.ok("staff", "sell", "sofia", "physio-5")
    return number(r"package (\d+), 5 uses", sold), number(r"Invoice (\d+): 400\.00 CAD", sold)


def _unpaid_ids(desk: Clinicbot) -> list[str]:
    rows = csv.DictReader(io.StringIO(desk.ok("report", "unpaid", "--format", "csv")))
    return [row["invoice_id"] for row in rows]


def test_a_refund_settles_the_invoice_and_the_credit_is_shown_and_spent(
    database_url: str, tmp_path: Path
) -> None:
    desk = Clinicbot(database_url, tmp_path)  # SQLite and PostgreSQL
    desk.ok("load", str(EXAMPLE_FILE))
    package, invoice = _sell(desk)
    desk.ok("staff", "pay", str(invoice), "200")
    assert str(invoice) in _unpaid_ids(desk)
    refunded = desk.ok("staff", "refund", str(package), "--yes")
    assert "200.00 CAD credited to patient" in refunded
    assert f"Invoices no longer owed (the unpaid rest is void): {invoice}" in refunded

    assert str(invoice) not in _unpaid_ids(desk)
    assert query(database_url, "SELECT status, paid FROM invoice WHERE id = :id", id=invoice) == [
        ("void", 20000)]
    listed = desk.ok("staff", "invoices", "sofia")
    assert str(invoice) not in [line.split()[0] for line in listed.splitlines()[3:] if line]
    assert "Credit: 200.00 CAD" in listed and "--from-credit" in listed
    ledger = desk.ok("staff", "credit", "sofia")
    assert "(Sofía Ramírez): 200.00 CAD." in ledger.splitlines()[0]
    [entry] = [line.split() for line in ledger.splitlines()[3:]]
    assert entry[3:5] == ["refund", "200.00"]
    report = list(csv.DictReader(io.StringIO(desk.ok("report", "credit", "--format", "csv"))))
    assert [(r["patient_name"], r["credit"]) for r in report] == [("Sofía Ramírez", "200.00")]
    assert float(report[0]["owed"]) > 0  # her membership invoices, which the credit could pay
    table = desk.ok("report", "credit").splitlines()
    assert table[0] == "Credit held for patients:" and table[-1].split() == ["total", "200.00"]

    _, second = _sell(desk)
    too_much = desk.refused("staff", "pay", str(second), "200.01", "--from-credit")
    assert "at most 200.00" in too_much.stderr
    paid = desk.ok("staff", "pay", str(second), "--from-credit")
    assert f"Recorded 200.00 CAD (credit) on invoice {second}" in paid
    assert "200.00 CAD still owed" in paid and "Credit left: 0.00 CAD." in paid
    empty = desk.refused("staff", "pay", str(second), "--from-credit")
    assert "no credit" in empty.stderr
    assert desk.ok("staff", "credit", "sofia").splitlines()[0].endswith(": 0.00 CAD.")
    assert query(
        database_url, "SELECT source, amount, invoice_id FROM credit_entry ORDER BY id"
    ) == [("refund", 20000, None), ("applied", -20000, second)]
    assert desk.ok("report", "credit", "--format", "csv").splitlines() == [
        "patient_id,patient_name,credit,owed"]


def test_pay_needs_an_amount_or_the_credit_and_not_both_ways(
    database_url: str, tmp_path: Path
) -> None:
    desk = Clinicbot(database_url, tmp_path)
    desk.ok("load", str(EXAMPLE_FILE))
    _, invoice = _sell(desk)
    missing = desk.refused("staff", "pay", str(invoice))
    assert "give the AMOUNT received, or --from-credit" in missing.stderr
    both = desk.refused("staff", "pay", str(invoice), "--from-credit", "--method", "card")
    assert "--method does not go with --from-credit" in both.stderr
    nothing = desk.refused("staff", "pay", str(invoice), "--from-credit")
    assert "has no credit" in nothing.stderr
    helped = desk.ok("staff", "pay", "--help")
    assert "--from-credit" in helped and "clinicbot staff pay 12 --from-credit" in helped
    assert "credit" in desk.ok("staff", "--help")
    assert "credit" in desk.ok("report", "--help")


def test_credit_paid_back_is_a_ledger_entry_never_more_than_is_held(
    database_url: str, tmp_path: Path
) -> None:
    desk = Clinicbot(database_url, tmp_path)
    desk.ok("load", str(EXAMPLE_FILE))
    package, invoice = _sell(desk)
    desk.ok("staff", "pay", str(invoice), "200")
    desk.ok("staff", "refund", str(package), "--yes")

    too_much = desk.refused("staff", "pay-back", "sofia", "200.01")
    assert "at most the credit, 200.00" in too_much.stderr
    wrong = desk.refused("staff", "pay-back", "sofia", "10", "--method", "gift")
    assert "'gift' is not one of" in wrong.stderr
    unasked = desk.refused("staff", "pay-back", "sofia")  # no tty, no --yes: nothing changes
    assert "--yes" in unasked.stderr
    part = desk.ok("staff", "pay-back", "sofia", "50.00", "--method", "card")
    assert "Paid back 50.00 CAD (card) to" in part and "credit left: 150.00 CAD." in part
    rest = desk.ok("staff", "pay-back", "sofia", "--yes")
    assert "Paid back 150.00 CAD (cash)" in rest and "credit left: 0.00 CAD." in rest
    assert "no credit to pay back" in desk.refused("staff", "pay-back", "sofia", "1").stderr
    assert query(
        database_url, "SELECT source, amount FROM credit_entry ORDER BY id"
    ) == [("refund", 20000), ("paid_back", -5000), ("paid_back", -15000)]
    ledger = desk.ok("staff", "credit", "sofia")
    assert ledger.splitlines()[0].endswith(": 0.00 CAD.")
    assert ledger.count("paid_back") == 2
    assert desk.ok("report", "credit", "--format", "csv").splitlines() == [
        "patient_id,patient_name,credit,owed"]
