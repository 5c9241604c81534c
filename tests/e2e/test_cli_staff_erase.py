"""``clinicbot staff erase`` and ``clinicbot report retention`` (issue 21), run as a clinic runs
them: refused with what to settle first, asked first on a terminal (and refused without one
unless --yes), then the patient is anonymous; the report says what is kept until when.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.test_cli_staff_people import register_online
from tests.e2e.test_cli_staff_support import Clinicbot, example_desk, query


@pytest.fixture
def desk(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Clinicbot:
    return example_desk(tmp_path, tmp_path_factory)


def test_erase_is_refused_asked_and_then_done(desk: Clinicbot) -> None:
    owed = desk.refused("staff", "erase", "maya", "--yes")
    assert "patient 1 cannot be erased yet; settle these first:" in owed.stderr
    assert "ward patient 2 (managed by this patient alone): invoice" in owed.stderr

    someone = register_online(desk.url, phone="+14165550199")
    unasked = desk.refused("staff", "erase", "+14165550199")
    assert f"Erase patient {someone} Maya Chen." in unasked.stdout
    assert "--yes" in unasked.stderr
    declined = desk.answering("n", "staff", "erase", str(someone))
    assert declined.returncode == 1 and "Nothing was changed." in declined.stdout
    done = desk.ok("staff", "--as", "desk", "erase", str(someone), "--yes")
    assert f"Erased patient {someone}: now Erased patient #{someone}." in done
    assert query(desk.url, "SELECT first_name, last_name, phone FROM patient WHERE id = :id",
                 id=someone) == [("Erased patient", f"#{someone}", None)]
    assert query(desk.url, "SELECT summary FROM audit_entry WHERE action = 'patient.erase'") == [
        (f"patient {someone} erased",)]
    again = desk.refused("staff", "erase", str(someone), "--yes")
    assert "was erased" in again.stderr


def test_the_retention_report_says_what_is_kept_and_for_how_long(desk: Clinicbot) -> None:
    shown = desk.ok("report", "retention")
    lines = shown.splitlines()
    assert lines[0] == "Retention ([retention] in the set-up file):"
    assert any(line.startswith("texts of messages sent") and "90 days" in line
               for line in lines)
    assert any(line.startswith("ids of SMS received") and "400 days" in line for line in lines)
    assert any(line.startswith("audit log entries") and "7 years" in line for line in lines)
    csv = desk.ok("report", "retention", "--format", "csv").splitlines()
    assert csv[0] == "record,kept for,held,oldest,oldest kept until"
