"""``clinicbot staff`` for the appointment book: slots, booking, moving, package changes,
cancelling and arrival, with times typed and shown in the clinic's zone (RULES.md 3, 6, 7, 20,
21). A refused booking (taken, past, outside hours, a time the clocks skip, a package of
someone else) exits 2 with the reason and changes nothing.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from tests.e2e.test_cli_staff_packages import maya_package
from tests.e2e.test_cli_staff_support import (
    Clinicbot,
    clinic_today,
    example_desk,
    next_workday,
    number,
    past_appointment,
    query,
)

ANA = ("--practitioner", "ana", "--location", "downtown", "--fee", "physio-follow")


@pytest.fixture
def desk(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Clinicbot:
    return example_desk(tmp_path, tmp_path_factory)


def counters(desk: Clinicbot, package: int) -> tuple[int, int, int]:
    rows = query(
        desk.url, "SELECT redeemed, booked, available FROM patient_package WHERE id = :id",
        id=package,
    )
    return rows[0]


def test_slots_booking_moving_and_cancelling(desk: Clinicbot) -> None:
    day = next_workday()
    package = maya_package(desk)
    desk.ok("staff", "expiry", str(package), "none")  # whatever today is, it still applies
    free = desk.ok("staff", "slots", *ANA, "--from", day.isoformat(), "--days", "1")
    assert f"{day:%a %Y-%m-%d}  09:00 09:15 09:30" in free

    booked = desk.ok("staff", "book", "maya", *ANA, "--at", f"{day} 09:00")
    appointment = number(r"Booked appointment (\d+) for patient \d+ \(Maya Chen\)", booked)
    assert f"{day} 09:00, Physiotherapy follow-up with Ana Silva at Downtown" in booked
    assert f"Package {package} (Physio 5-pack) covers it; 2 use(s) left" in booked
    assert counters(desk, package) == (2, 1, 2)
    taken = desk.refused("staff", "book", "leo", *ANA, "--at", f"{day} 09:15")
    assert f"Ana Silva is already booked at {day} 09:15" in taken.stderr
    after = desk.ok("staff", "slots", *ANA, "--from", day.isoformat(), "--days", "1")
    assert f"{day:%a %Y-%m-%d}  09:30 09:45" in after  # 09:00 and 09:15 overlap the booking

    listed = desk.ok("staff", "appointments", "maya")
    row = next(
        line.split() for line in listed.splitlines() if line.startswith(f"{appointment:>11}")
    )
    assert row[1:4] == [day.isoformat(), "09:00", "booked"] and row[-1] == str(package)

    moved = desk.ok("staff", "reschedule", str(appointment), "--at", f"{day} 11:00")
    assert f"Moved appointment {appointment} to {day} 11:00" in moved
    removed = desk.ok("staff", "remove-package", str(appointment))
    assert "its use went back (3 available)" in removed and counters(desk, package) == (2, 0, 3)
    added = desk.ok("staff", "add-package", str(appointment), str(package))
    assert "2 use(s) left available" in added and counters(desk, package) == (2, 1, 2)
    cancelled = desk.ok("staff", "cancel", str(appointment))
    assert f"Its use went back to package {package} (Physio 5-pack): 3 available." in cancelled
    assert counters(desk, package) == (2, 0, 3)
    again = desk.refused("staff", "cancel", str(appointment))
    assert f"appointment {appointment} is cancelled; it cannot be cancelled" in again.stderr


def test_arrival_bills_a_visit_without_a_package(desk: Clinicbot) -> None:
    day = next_workday()
    booked = desk.ok("staff", "book", "maya", *ANA, "--at", f"{day} 14:00", "--no-package")
    assert "No package covers it; 90.00 CAD at arrival." in booked
    ahead = desk.refused("staff", "arrive", str(number(r"Booked appointment (\d+)", booked)))
    assert f"it can be marked arrived from {day} 13:45" in ahead.stderr
    appointment = past_appointment(desk.url, with_package=False).appointment_id
    arrived = desk.ok("staff", "arrive", str(appointment))
    invoice = number(r"Invoice (\d+): 90\.00 CAD \(Physiotherapy follow-up\)", arrived)
    assert query(desk.url, "SELECT appointment_id FROM invoice WHERE id = :id", id=invoice) == [
        (appointment,)
    ]
    twice = desk.refused("staff", "arrive", str(appointment))
    assert "is arrived; it cannot be marked arrived" in twice.stderr
    late = desk.refused("staff", "remove-package", str(appointment))
    assert "only before the appointment is marked arrived" in late.stderr


def test_bookings_the_rules_refuse(desk: Clinicbot) -> None:
    day, yesterday = next_workday(), clinic_today() - timedelta(days=1)
    nobody = desk.refused(
        "staff", "book", "maya", "--practitioner", "zed", "--location", "downtown",
        "--fee", "physio-follow", "--at", f"{day} 09:00",
    )
    assert "there is no practitioner 'zed' (the clinic has: ana, ben)" in nobody.stderr
    past = desk.refused("staff", "book", "maya", *ANA, "--at", f"{yesterday} 09:00")
    assert "has already passed" in past.stderr
    early = desk.refused("staff", "book", "maya", *ANA, "--at", f"{day} 08:00")
    assert "outside their hours there" in early.stderr
    garbled = desk.refused("staff", "book", "maya", *ANA, "--at", "tomorrow")
    assert "Invalid value for '--at': give a local time like 2026-11-10 14:30" in garbled.stderr
    skipped = desk.refused("staff", "book", "maya", *ANA, "--at", "2027-03-14 02:30")
    assert "2027-03-14 02:30 does not exist in America/Toronto" in skipped.stderr
    both = desk.refused("staff", "book", "maya", *ANA, "--at", f"{day} 09:00", "--package", "1",
                        "--no-package")
    assert "--package ID or --no-package, not both" in both.stderr
    theirs = desk.refused(
        "staff", "book", "leo", *ANA, "--at", f"{day} 09:00", "--package", str(maya_package(desk))
    )
    assert "covers only its owner's appointments" in theirs.stderr
