"""The audit log of money and packages at the desk (issue 17), on SQLite and PostgreSQL.

Each ``clinicbot staff`` command that changes money or uses adds exactly one entry: who
(``--as``, default ``desk``), face ``cli``, the action, the ids, and before/after with amounts
in cents; a refused command adds none. ``clinicbot report audit`` lists them, newest first.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from tests.conftest import EXAMPLE_FILE
from tests.e2e.audit_support import AuditLog
from tests.e2e.test_cli_staff_support import Clinicbot, clinic_today, number, query

PERSONAL = ("Maya", "Chen", "Leo", "+1416", "Sofía")


def _patient(url: str, key: str) -> int:
    return int(query(url, "SELECT id FROM patient WHERE key = :key", key=key)[0][0])


def test_package_money_and_uses_are_audited(database_url: str, tmp_path: Path) -> None:
    desk = Clinicbot(database_url, tmp_path)
    desk.ok("load", str(EXAMPLE_FILE))
    log = AuditLog(database_url)
    log.none()  # loading the set-up file is not a staff action
    maya, leo = _patient(database_url, "maya"), _patient(database_url, "leo")

    sold = desk.ok("staff", "--as", "ana", "sell", "maya", "physio-5", "--by", "desk")
    package = number(r"package (\d+), 5 uses", sold)
    invoice = number(r"Invoice (\d+): 400\.00 CAD due", sold)
    sale = log.one("package.sell", staff="ana")
    assert (sale.patient_id, sale.package_id) == (maya, package)
    assert f"package {package}" not in sale.before
    figures = sale.after[f"package {package}"]
    assert (figures["price"], figures["collected"], figures["available"]) == (40000, 0, 5)
    assert sale.after["currency"] == "CAD"

    assert "at most 400.00" in desk.refused("staff", "pay", str(invoice), "400.01").stderr
    log.none()
    desk.ok("staff", "pay", str(invoice), "150", "--method", "card")
    paid = log.one("invoice.pay")
    assert (paid.invoice_id, paid.package_id, paid.patient_id) == (invoice, None, maya)
    assert (paid.before["invoice"]["paid"], paid.after["invoice"]["paid"]) == (0, 15000)
    assert paid.after[f"package {package}"]["collected"] == 15000
    desk.ok("staff", "pay", str(invoice), "250")
    assert log.one("invoice.pay").after["invoice"]["status"] == "paid"

    desk.ok("staff", "expiry", str(package), "2027-12-31")
    expiry = log.one("package.expiry")
    assert expiry.after[f"package {package}"]["expires_on"] == "2027-12-31"
    assert expiry.before[f"package {package}"]["expires_on"] != "2027-12-31"
    assert "before the purchase date" in desk.refused(
        "staff", "expiry", str(package), "2000-01-01").stderr
    log.none()

    desk.ok("staff", "transfer", str(package), "leo", "2")
    moved = log.one("package.transfer")
    assert moved.patient_id == maya and moved.package_id == package
    assert moved.before[f"package {package}"]["available"] == 5
    assert moved.after[f"package {package}"]["available"] == 3
    assert "not family" in desk.refused("staff", "transfer", str(package), "sofia", "1").stderr
    log.none()

    desk.ok("staff", "refund", str(package), "--amount", "100", "--yes")
    refund = log.one("package.refund")
    assert refund.before[f"package {package}"]["refunded"] is None
    assert refund.after[f"package {package}"]["refunded"] == 10000
    assert (refund.before["credit"], refund.after["credit"]) == (0, 10000)

    desk.ok("staff", "--as", "ana", "pay-back", "maya", "40", "--method", "cash", "--yes")
    back = log.one("credit.pay_back", staff="ana")
    assert (back.patient_id, back.before["credit"], back.after["credit"]) == (maya, 10000, 6000)
    assert "no staff member 'nobody'" in desk.refused(
        "staff", "--as", "nobody", "pay-back", "maya", "1", "--method", "cash", "--yes").stderr
    log.none()

    for entry in query(database_url, "SELECT before, after, summary FROM audit_entry"):
        assert not any(word in str(entry) for word in PERSONAL), entry
    assert leo not in {row[0] for row in query(database_url, "SELECT patient_id FROM audit_entry")}

    report = desk.ok("report", "audit", "--patient", str(maya), "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(report)))
    assert [r["action"] for r in rows] == [
        "credit.pay_back", "package.refund", "package.transfer", "package.expiry",
        "invoice.pay", "invoice.pay", "package.sell",
    ]
    assert rows[-1]["staff"] == "ana" and rows[-1]["face"] == "cli"
    assert '"collected": 0' in rows[-1]["after"]
    by_ana = desk.ok("report", "audit", "--staff", "ana").splitlines()
    assert by_ana[0] == "Audit log, newest first:"
    assert sum("ana" in line.split() for line in by_ana) == 2
    today = str(clinic_today())
    assert len(desk.ok("report", "audit", "--since", today, "--format", "csv").splitlines()) == 8
    assert desk.ok("report", "audit", "--until", "2020-01-01", "--format", "csv").splitlines() == [
        "at,staff,face,action,patient,package,appointment,invoice,summary,before,after"]
    swapped = desk.refused("report", "audit", "--since", today, "--until", "2020-01-01")
    assert "swap them" in swapped.stderr


def test_memberships_and_credit_payments_are_audited(database_url: str, tmp_path: Path) -> None:
    desk = Clinicbot(database_url, tmp_path)
    desk.ok("load", str(EXAMPLE_FILE))
    log = AuditLog(database_url)
    today = clinic_today()
    sofia = _patient(database_url, "sofia")

    enrolled = desk.ok("staff", "enrol", "maya", "wellness-monthly", "--start", str(today))
    membership = number(r"membership (\d+), 49\.00 CAD monthly", enrolled)
    assert f"membership {membership}" in log.one("membership.enrol").summary
    assert "already has" in desk.refused(
        "staff", "enrol", "maya", "wellness-monthly", "--start", str(today)).stderr
    log.none()
    desk.ok("staff", "cancel-membership", str(membership), "--from", str(today))
    cancelled = log.one("membership.cancel")
    assert cancelled.patient_id == _patient(database_url, "maya")
    assert "there is no membership 999" in desk.refused(
        "staff", "cancel-membership", "999", "--from", str(today)).stderr
    log.none()

    sold = desk.ok("staff", "sell", "sofia", "physio-5")
    package = number(r"package (\d+), 5 uses", sold)
    invoice = number(r"Invoice (\d+): ", sold)
    log.one("package.sell")
    desk.ok("staff", "pay", str(invoice), "200")
    log.one("invoice.pay")
    desk.ok("staff", "refund", str(package), "--yes")
    assert log.one("package.refund").after["credit"] == 20000
    second = number(r"Invoice (\d+): ", desk.ok("staff", "sell", "sofia", "physio-5"))
    log.one("package.sell")
    desk.ok("staff", "pay", str(second), "--from-credit")
    spent = log.one("invoice.pay_from_credit")
    assert (spent.patient_id, spent.invoice_id) == (sofia, second)
    assert (spent.before["credit"], spent.after["credit"]) == (20000, 0)
    assert (spent.before["invoice"]["paid"], spent.after["invoice"]["paid"]) == (0, 20000)
    assert "no credit" in desk.refused("staff", "pay", str(second), "--from-credit").stderr
    log.none()
