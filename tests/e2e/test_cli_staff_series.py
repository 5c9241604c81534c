"""``clinicbot staff series`` and ``staff cancel-series`` (issue 19) on the example clinic.

The desk sees the series first (nothing booked without --yes), a week whose time is taken gets
the nearest free time (marked), --yes books them all, and cancel-series returns every use.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from tests.e2e.test_cli_staff_support import Clinicbot, example_desk, next_workday, number, query

WHERE = ("--practitioner", "ana", "--location", "downtown", "--fee", "physio-follow")


@pytest.fixture
def desk(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Clinicbot:
    return example_desk(tmp_path, tmp_path_factory)


def counters(desk: Clinicbot, package_id: int) -> tuple[int, int]:
    [(booked, available)] = query(
        desk.url, "SELECT booked, available FROM patient_package WHERE id = :id", id=package_id)
    return booked, available


def test_the_desk_books_and_cancels_a_series(desk: Clinicbot) -> None:
    [(package_id,)] = query(
        desk.url, "SELECT pp.id FROM patient_package pp JOIN patient p ON p.id = pp.patient_id "
        "WHERE p.key = 'maya' ORDER BY pp.id LIMIT 1")
    first = next_workday(2)
    week = first + timedelta(days=7)
    desk.ok("staff", "book", "sofia", *WHERE, "--at", f"{week} 10:00", "--no-package")
    shown = desk.ok("staff", "series", str(package_id), *WHERE, "--first", f"{first} 10:00")
    assert "3 session(s) of Physiotherapy follow-up with Ana Silva at Downtown" in shown
    assert f"{week} 09:30  (instead of {week} 10:00, not free)" in shown
    assert "Nothing booked; add --yes" in shown
    assert counters(desk, package_id) == (0, 3)
    booked = desk.ok("staff", "series", str(package_id), *WHERE, "--first", f"{first} 10:00",
                     "--yes")
    series_id = number(r"Booked series (\d+)", booked)
    assert "has 0 use(s) left available" in booked
    assert counters(desk, package_id) == (3, 0)
    rows = query(desk.url, "SELECT id FROM appointment WHERE series_id = :id ORDER BY starts_at",
                 id=series_id)
    assert len(rows) == 3
    refused = desk.refused("staff", "series", str(package_id), *WHERE, "--first",
                           f"{first} 11:00", "--yes")
    assert "no uses left" in refused.stderr
    cancelled = desk.ok("staff", "cancel-series", str(rows[1][0]))
    assert "Cancelled 2 appointment(s) of the series" in cancelled
    assert counters(desk, package_id) == (1, 2)
    desk.refused("staff", "cancel-series", str(rows[1][0]))
