"""``clinicbot staff`` for packages and payments, run as the front desk runs it.

Selling invoices the package and it becomes usable once paid (RULES.md 2); a payment over what
is owed is refused; the expiry can be changed or cleared (5); uses move only to family and add
up (10); a refund without an amount shows the suggested amount and its bounds and asks first,
never waiting on a stdin that is not a terminal (9). Every refusal exits 2 with one line on
stderr and leaves every row of the database as it was.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import EXAMPLE_FILE
from tests.e2e.test_cli_staff_support import Clinicbot, example_desk, number, query


@pytest.fixture
def desk(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Clinicbot:
    return example_desk(tmp_path, tmp_path_factory)


def maya_package(desk: Clinicbot) -> int:
    """Maya's imported Physio 5-pack: 400.00 paid, 2 of 5 uses redeemed."""
    rows = query(
        desk.url,
        "SELECT pp.id FROM patient_package pp JOIN patient p ON p.id = pp.patient_id "
        "WHERE p.key = 'maya' ORDER BY pp.id",
    )
    return int(rows[0][0])


def test_a_package_is_sold_paid_and_shown(database_url: str, tmp_path: Path) -> None:
    desk = Clinicbot(database_url, tmp_path)  # SQLite and PostgreSQL
    desk.ok("load", str(EXAMPLE_FILE))
    sold = desk.ok("staff", "sell", "maya", "physio-5", "--by", "desk")
    package = number(r"package (\d+), 5 uses, 400\.00 CAD", sold)
    invoice = number(r"Invoice (\d+): 400\.00 CAD due", sold)
    assert "sold by desk" in sold

    listed = desk.ok("staff", "invoices", "+14165550101")  # Maya, by her phone
    rows = [line.split() for line in listed.splitlines()[3:]]
    assert any(row[0] == str(invoice) and row[-1] == "open" for row in rows)

    over = desk.refused("staff", "pay", str(invoice), "400.01")
    assert "at most 400.00" in over.stderr

    first = desk.ok("staff", "pay", str(invoice), "150", "--method", "card")
    assert "Recorded 150.00 CAD (card)" in first and "250.00 CAD still owed" in first
    waiting = desk.ok("staff", "package", str(package))
    assert "awaiting payment" in waiting and "paid 150.00 CAD; owed 250.00 CAD" in waiting

    rest = desk.ok("staff", "pay", str(invoice), "250.00")
    assert "paid in full" in rest and f"Package {package} (Physio 5-pack) can now be used" in rest
    listing = desk.ok("staff", "packages", "maya")
    row = next(line for line in listing.splitlines() if line.split()[0] == str(package))
    assert "active" in row and "400.00" in row
    payments = query(
        database_url, "SELECT method, amount FROM payment WHERE invoice_id = :id ORDER BY id",
        id=invoice,
    )
    assert payments == [("card", 15000), ("desk", 25000)]  # cents


def test_expiry_transfer_and_refund_with_an_amount(desk: Clinicbot) -> None:
    package = maya_package(desk)
    later = desk.ok("staff", "expiry", str(package), "2027-12-31")
    assert f"Package {package} (Physio 5-pack) now expires on 2027-12-31." in later
    assert "now never expires" in desk.ok("staff", "expiry", str(package), "none")
    early = desk.refused("staff", "expiry", str(package), "2026-09-01")
    assert "cannot be before the purchase date (2026-10-01)" in early.stderr

    not_family = desk.refused("staff", "transfer", str(package), "sofia", "1")
    assert "not family" in not_family.stderr
    moved = desk.ok("staff", "transfer", str(package), "leo", "2")
    gift = number(r"to new package (\d+) of patient \d+ \(Leo Chen\)", moved)
    assert f"Package {package} now has 3 uses, 1 available." in moved
    details = desk.ok("staff", "package", str(gift))
    assert "Uses:      2 = 0 redeemed + 0 booked + 2 available" in details
    assert f"Transferred from package {package}" in details and "never" in details

    refunded = desk.ok("staff", "--as", "desk", "refund", str(package), "--amount", "50")
    assert "50.00 CAD credited to patient" in refunded and "the package is ended" in refunded
    credit = query(desk.url, "SELECT amount FROM credit_entry WHERE package_id = :id", id=package)
    assert credit == [(5000,)]
    again = desk.refused("staff", "refund", str(package), "--amount", "10")
    assert "already refunded" in again.stderr


def test_a_refund_without_an_amount_shows_the_suggestion_and_asks(desk: Clinicbot) -> None:
    package = maya_package(desk)
    # stdin is not a terminal and there is no --yes: shown, refused, nothing changed
    unasked = desk.refused("staff", "refund", str(package))
    assert "Suggested refund: 240.00 CAD" in unasked.stdout  # 400 / 5 x 3 not redeemed
    assert "allowed: 0.00 CAD to 400.00 CAD" in unasked.stdout
    assert "--yes" in unasked.stderr

    declined = desk.answering("n", "staff", "refund", str(package))
    assert declined.returncode == 1 and "Nothing was changed." in declined.stdout
    refunded = "SELECT refunded_at, refund_amount FROM patient_package WHERE id = :id"
    assert query(desk.url, refunded, id=package) == [(None, None)]
    accepted = desk.answering("y", "staff", "refund", str(package))
    assert accepted.returncode == 0, accepted.stderr
    assert "Refund 240.00 CAD and end the package?" in accepted.stdout
    assert "240.00 CAD credited" in accepted.stdout
    ((refunded_at, amount),) = query(desk.url, refunded, id=package)
    assert refunded_at is not None and amount == 24000


def test_mistakes_at_the_desk_are_refused_and_change_nothing(desk: Clinicbot) -> None:
    unknown = desk.refused("staff", "sell", "nobody", "physio-5")
    assert "no patient matches 'nobody'" in unknown.stderr
    assert "there is no invoice 999" in desk.refused("staff", "pay", "999", "10").stderr
    bad_amount = desk.refused("staff", "pay", "1", "12.345")
    assert "give an amount like 120.00" in bad_amount.stderr
    bad_date = desk.refused("staff", "sell", "maya", "physio-5", "--on", "2026-13-01")
    assert "Invalid value for '--on': give a date like 2026-11-10" in bad_date.stderr
    stranger = desk.refused("staff", "--as", "nobody", "transfer", "1", "leo", "1")
    assert "there is no staff member 'nobody'" in stranger.stderr
    seller = desk.refused("staff", "sell", "maya", "physio-5", "--by", "nobody")
    assert "there is no staff member 'nobody'" in seller.stderr
