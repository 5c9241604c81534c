"""``clinicbot staff closed ...`` and ``clinicbot staff time-off ...`` (issue 16 item 11).

Real ``clinicbot`` processes on a copy of the example clinic, on the real clock:

* adding a closure over a booking lists the booking, says how to tell the patient (or asks, on
  a terminal), and the closed day is neither offered nor bookable at the desk; ``notify`` queues
  one message per patient, once; ``remove`` opens the time again;
* time off closes only that practitioner's hours; refusals exit 2 with one line and change
  nothing;
* a closure from the set-up file is listed as such, comes back with the next load if removed at
  the desk, and goes when the file drops it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import EXAMPLE_FILE
from tests.e2e.test_cli_staff_support import Clinicbot, example_desk, next_workday, number, query

ANA = ("--practitioner", "ana", "--location", "downtown", "--fee", "physio-follow")
NOTICES = "SELECT patient_id, kind FROM outbox WHERE kind = :kind"


@pytest.fixture
def desk(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Clinicbot:
    return example_desk(tmp_path, tmp_path_factory)


def free(desk: Clinicbot, day: object) -> str:
    return desk.ok("staff", "slots", *ANA, "--from", str(day), "--days", "1")


def test_a_closure_over_a_booking_is_listed_told_and_removed(desk: Clinicbot) -> None:
    day = next_workday(3)
    booked = desk.ok("staff", "book", "maya", *ANA, "--at", f"{day} 10:00", "--no-package")
    appointment = number(r"Booked appointment (\d+)", booked)

    added = desk.ok("staff", "closed", "add", str(day), "--reason", "Staff training")
    closure = number(r"Added closure (\d+): every location", added)
    assert f"{day} (whole day) (Staff training)." in added
    assert "1 booked appointment(s) fall in it and are still booked" in added
    assert (f"  appointment {appointment}: {day} 10:00, Physiotherapy follow-up with Ana Silva "
            f"at Downtown; patient 1 (Maya Chen)") in added
    assert f"To tell these patients: clinicbot staff closed notify {closure}" in added
    assert query(desk.url, NOTICES, kind="clinic_closed") == [], "nobody told without asking"

    assert "(none)" in free(desk, day)
    refused = desk.refused("staff", "book", "leo", *ANA, "--at", f"{day} 14:00")
    assert f"the clinic is closed at Downtown from {day} to {day} (Staff training)" in (
        refused.stderr)
    listed = desk.ok("staff", "closed", "list")
    assert f"Closure {closure}: every location, {day} (whole day) (Staff training); booked " \
           f"appointment(s) in it: {appointment}" in listed

    told = desk.ok("staff", "closed", "notify", str(closure))
    assert "Told 1 patient(s)" in told
    assert query(desk.url, NOTICES, kind="clinic_closed") == [(1, "clinic_closed")]
    assert "1 patient(s) had been told already." in desk.ok("staff", "closed", "notify",
                                                            str(closure))

    removed = desk.ok("staff", "closed", "remove", str(closure))
    assert f"Removed closure {closure}: every location" in removed
    assert "set-up file" not in removed
    assert f"{day:%a %Y-%m-%d}  09:00" in free(desk, day)
    assert "there is no closure" in desk.refused("staff", "closed", "remove", str(closure)).stderr


def test_the_desk_is_asked_on_a_terminal(desk: Clinicbot) -> None:
    day = next_workday(4)
    desk.ok("staff", "book", "maya", *ANA, "--at", f"{day} 11:00", "--no-package")
    asked = desk.answering("y", "staff", "closed", "add", f"{day} 10:00", f"{day} 12:00",
                           "--location", "downtown")
    assert asked.returncode == 0, asked.stderr
    assert "Tell these patients now" in asked.stdout and "Told 1 patient(s)" in asked.stdout
    assert query(desk.url, NOTICES, kind="clinic_closed") == [(1, "clinic_closed")]


def test_time_off_closes_only_that_practitioner(desk: Clinicbot) -> None:
    day = next_workday(2)
    added = desk.ok("staff", "time-off", "add", "ana", f"{day} 12:00", f"{day} 17:00",
                    "--reason", "Course", "--notify")
    away = number(r"Added time off (\d+): Ana Silva", added)
    assert f"{day} 12:00 to {day} 17:00 (Course)." in added
    assert "No booked appointment falls in it." in added
    times = free(desk, day)
    assert "11:30" in times and "12:00" not in times and "16:30" not in times
    assert f"Time off {away}: Ana Silva" in desk.ok("staff", "time-off", "list", "ana")
    assert desk.ok("staff", "time-off", "list", "ben").strip() == "(none)"
    assert "(none)" in desk.ok("staff", "closed", "list"), "time off is no clinic closure"

    bad = desk.refused("staff", "time-off", "add", "ana", "tomorrow")
    assert bad.stderr.strip().count("\n") == 0
    assert "give a day like 2026-12-24 or a clinic-local time" in bad.stderr
    assert "there is no practitioner 'zoe'" in desk.refused(
        "staff", "time-off", "add", "zoe", str(day)).stderr
    assert "end after it starts" in desk.refused(
        "staff", "time-off", "add", "ana", f"{day} 12:00", f"{day} 11:00").stderr
    assert "give when it ends" in desk.refused("staff", "time-off", "add", "ana",
                                               f"{day} 12:00").stderr
    assert "already over" in desk.refused("staff", "closed", "add", "2020-01-01").stderr
    assert f"there is no closure {away}" in desk.refused(
        "staff", "closed", "remove", str(away)).stderr
    assert "Removed time off" in desk.ok("staff", "time-off", "remove", str(away))
    for group in ("closed", "time-off"):
        for command in ("add", "list", "remove", "notify"):
            assert "Example" in desk.ok("staff", group, command, "--help")


def test_a_closure_from_the_set_up_file(desk: Clinicbot, tmp_path: Path) -> None:
    day = next_workday(5)
    path = tmp_path / "clinic.toml"
    path.write_text(EXAMPLE_FILE.read_text(encoding="utf-8") + f'''
[[closures]]
from = "{day}"
locations = ["downtown"]
reason = "Inventory"
''', encoding="utf-8")
    assert "closures: 1 created" in desk.ok("load", str(path))
    assert "nothing changed" in desk.ok("load", str(path))
    listed = desk.ok("staff", "closed", "list")
    closure = number(r"Closure (\d+): Downtown", listed)
    assert f"{day} (whole day) (Inventory), from the set-up file" in listed
    removed = desk.ok("staff", "closed", "remove", str(closure))
    assert "The set-up file lists it: remove it from [[closures]] there too" in removed
    assert "closures: 1 created" in desk.ok("load", str(path))
    assert "closures: 1 removed" in desk.ok("load", str(EXAMPLE_FILE))
    assert desk.ok("staff", "closed", "list").strip() == "(none)"
