"""``clinicbot staff`` for no-shows (RULES.md 8): a started package appointment is marked
no-show, listed, resolved by redeeming its use or by a no-show fee that keeps the use, and each
choice is undone back to exactly the counters before. Marking one that has not started,
charging without saying which fee, or undoing what is not resolved is refused, changing
nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import EXAMPLE_FILE
from tests.e2e.test_cli_staff_support import (
    Clinicbot,
    example_desk,
    next_workday,
    number,
    past_appointment,
    query,
)


@pytest.fixture
def desk(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Clinicbot:
    return example_desk(tmp_path, tmp_path_factory)


def state(desk: Clinicbot, appointment: int, package: int) -> tuple[object, ...]:
    """(status, package on it, redeemed, booked, available)."""
    (status, on_it), = query(
        desk.url, "SELECT status, package_id FROM appointment WHERE id = :id", id=appointment
    )
    (counts,) = query(
        desk.url, "SELECT redeemed, booked, available FROM patient_package WHERE id = :id",
        id=package,
    )
    return (status, on_it, *counts)


def test_a_no_show_is_resolved_and_undone_both_ways(database_url: str, tmp_path: Path) -> None:
    desk = Clinicbot(database_url, tmp_path)  # SQLite and PostgreSQL
    desk.ok("load", str(EXAMPLE_FILE))
    visit = past_appointment(database_url)
    appointment, package = visit.appointment_id, visit.package_id
    assert package is not None

    marked = desk.ok("staff", "--as", "ana", "no-show", str(appointment))
    no_show = number(r"is a no-show: no-show (\d+)\.", marked)
    assert f"clinicbot staff resolve {no_show} redeem" in marked and "missed, late-cancel" in marked
    listed = desk.ok("staff", "no-shows")
    assert any(line.split()[:2] == [str(no_show), str(appointment)] for line in listed.splitlines())
    assert state(desk, appointment, package) == ("no_show", package, 0, 1, 4)

    redeemed = desk.ok("staff", "resolve", str(no_show), "redeem")
    assert f"a use of package {package} (Physio 5-pack) redeemed; 4 available" in redeemed
    assert state(desk, appointment, package) == ("no_show", package, 1, 0, 4)
    assert "waits for a decision again" in desk.ok("staff", "undo", str(no_show))
    assert state(desk, appointment, package) == ("no_show", package, 0, 1, 4)

    charged = desk.ok("staff", "resolve", str(no_show), "fee", "--fee", "missed")
    invoice = number(r"Invoice (\d+): 45\.00 CAD \(Missed appointment fee\)", charged)
    assert f"The use went back to package {package}." in charged
    assert state(desk, appointment, package) == ("no_show", None, 0, 0, 5)
    assert "(none)" in desk.ok("staff", "no-shows")
    desk.ok("staff", "undo", str(no_show))
    assert state(desk, appointment, package) == ("no_show", package, 0, 1, 4)
    assert query(desk.url, "SELECT status FROM invoice WHERE id = :id", id=invoice) == [("void",)]
    resolved_by = query(desk.url, "SELECT resolution FROM no_show WHERE id = :id", id=no_show)
    assert resolved_by == [(None,)]


def test_no_shows_the_rules_refuse(desk: Clinicbot) -> None:
    visit = past_appointment(desk.url, with_package=False)
    future = desk.ok(
        "staff", "book", "maya", "--practitioner", "ana", "--location", "downtown",
        "--fee", "physio-follow", "--at", f"{next_workday()} 10:00", "--no-package",
    )
    early = desk.refused("staff", "no-show", str(number(r"appointment (\d+)", future)))
    assert "has not started yet" in early.stderr
    assert "there is no appointment 9999" in desk.refused("staff", "no-show", "9999").stderr

    marked = desk.ok("staff", "no-show", str(visit.appointment_id))
    no_show = number(r"no-show (\d+)\.", marked)
    assert f"Charge a fee: clinicbot staff resolve {no_show} fee --fee KEY" in marked
    which = desk.refused("staff", "resolve", str(no_show), "fee")
    assert "'fee' needs --fee KEY, one of: missed, late-cancel" in which.stderr
    nope = desk.refused("staff", "resolve", str(no_show), "fee", "--fee", "nope")
    assert "there is no no-show fee 'nope' (the clinic has: " in nope.stderr
    assert "missed" in nope.stderr and "late-cancel" in nope.stderr
    no_package = desk.refused("staff", "resolve", str(no_show), "redeem")
    assert "has no package to redeem; charge a no-show fee instead" in no_package.stderr
    unresolved = desk.refused("staff", "undo", str(no_show))
    assert "is not resolved; there is nothing to undo" in unresolved.stderr
    choice = desk.refused("staff", "resolve", str(no_show), "maybe")
    assert "'maybe' is not one of 'redeem', 'fee'" in choice.stderr
